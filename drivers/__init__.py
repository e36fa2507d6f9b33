"""What the bench does: one instrument interface, virtual and VISA implementations."""
