"""``design``'s optimisation options: ``--vary``, ``--target``, ``--budget``, ``-o``, ``--plot``.

:func:`plan_design` checks them all against the protocol, sample and bench before anything is
simulated (exit 2 naming the option: an unknown ``--vary`` name, a ``--target`` that is not a
numeric sample key ``fit --free`` would accept, a budget shorter than one shot of every phase
step and sweep point, an output path that exists or is an input). :func:`extend_design` then
adds to the answer:

- ``predicted_error`` (``--target``): the standard error ``fit`` will give for the key on the
  record of the answer's protocol in the budget (:mod:`spin_echo.echo.design.fisher`), with
  the white-noise Cramér–Rao bound and the derivative's convergence in ``target``;
- ``optimisation`` (``--vary``): the protocol as written and the chosen one, each with its
  values, predicted SNR (best point), predicted error (with a target), shots and time
  (:mod:`spin_echo.echo.design.optimise`); ``-o`` writes the chosen protocol (YAML that
  ``simulate`` and ``run`` accept) and ``--plot`` the figure
  (:mod:`spin_echo.echo.design.scan_plot`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import xarray as xr

from spin_echo.drivers.config import BenchSpec
from spin_echo.echo.analysis.fit_yaml import unit_of_key
from spin_echo.echo.design.fisher import predict_errors, target_parameter
from spin_echo.echo.design.knobs import Knob, knob_unit, parse_vary, with_shots
from spin_echo.echo.design.noise import noise_per_point
from spin_echo.echo.design.objective import evaluator, protocol_figures, recovery_factor
from spin_echo.echo.design.optimise import Candidate, Optimisation, optimise, shots_in_budget
from spin_echo.echo.design.predict import MapFunction, front_end_gain, measuring_time_s
from spin_echo.echo.design.report import Design, format_duration
from spin_echo.echo.output import OutputFile, image_formats, write_error
from spin_echo.echo.units_format import format_quantity, format_with_error
from spin_echo.sequences.errors import InputError
from spin_echo.sequences.protocol import Protocol
from spin_echo.sequences.quantity import parse_quantity
from spin_echo.simulator import Sample

__all__ = ["DesignPlan", "extend_design", "parse_budget", "plan_design"]


@dataclass(frozen=True)
class DesignPlan:
    """The checked optimisation options.

    Attributes
    ----------
    knobs
        What ``--vary`` varies (empty: no optimisation).
    target
        The ``--target`` sample key, or None.
    budget_s
        The ``--budget``, seconds, or None (the protocol's own time).
    output, plot
        The checked ``-o`` protocol file and ``--plot`` image, or None.
    """

    knobs: tuple[Knob, ...] = ()
    target: str | None = None
    budget_s: float | None = None
    output: OutputFile | None = None
    plot: OutputFile | None = None


def parse_budget(text: str | None, protocol: Protocol) -> float | None:
    """Read ``--budget TIME``; refuse one shorter than one shot of every step and point.

    Raises
    ------
    InputError
        ``key="--budget"``: not a positive time, or shorter than
        ``repetition_time x phase steps x sweep points``.
    """
    if text is None:
        return None
    try:
        budget = parse_quantity(text, "time")
    except InputError as err:
        raise InputError(err.message, key="--budget", value=text) from None
    if not (math.isfinite(budget) and budget > 0):
        raise InputError("must be a positive time", key="--budget", value=text)
    one_shot = measuring_time_s(protocol, shots=1)
    if budget < one_shot * (1 - 1e-12):
        raise InputError(
            f"is shorter than one shot of every phase step and sweep point of {protocol.name!r}: "
            f"{format_duration(one_shot)} (repetition time x phase steps x points)",
            key="--budget",
            value=text,
        )
    return float(budget)


def plan_design(
    protocol: Protocol,
    sample: Sample,
    bench: BenchSpec,
    *,
    vary: str | None = None,
    target: str | None = None,
    budget: str | None = None,
    output: Path | None = None,
    plot: Path | None = None,
    overwrite: bool = False,
    inputs: tuple[str | Path | None, ...] = (),
) -> DesignPlan:
    """Check the optimisation options against the experiment; nothing is simulated or written.

    Parameters
    ----------
    protocol, sample, bench
        The experiment.
    vary, target, budget
        The options' texts (None: not given).
    output, plot
        ``-o`` and ``--plot`` paths (need ``--vary`` or ``--budget``, and ``--vary``).
    overwrite
        Allow replacing existing output files.
    inputs
        The command's input files, which no output may be.

    Raises
    ------
    InputError
        Naming the option, its value and what was expected.
    """
    if target is not None:
        target_parameter(sample, target)
    knobs = parse_vary(vary, protocol, bench) if vary is not None else ()
    budget_s = parse_budget(budget, protocol)
    if output is not None and not knobs and budget_s is None:
        raise InputError(
            "writes the chosen protocol: give --vary (or --budget)", key="-o", value=str(output)
        )
    if plot is not None and not knobs:
        raise InputError("draws the optimisation: give --vary", key="--plot", value=str(plot))
    written = OutputFile(output, overwrite=overwrite, inputs=inputs) if output else None
    image = (
        OutputFile(
            plot,
            overwrite=overwrite,
            option="--plot",
            formats=image_formats(),
            inputs=(*inputs, output),
        )
        if plot
        else None
    )
    return DesignPlan(knobs, target, budget_s, written, image)


def _target_entry(
    protocol: Protocol,
    sample: Sample,
    bench: BenchSpec,
    key: str,
    budget_s: float,
    options: dict[str, Any],
) -> tuple[dict[str, Any], list[str]]:
    """Predict the target's error for ``protocol`` at the budget's shots, with the check."""
    noise = noise_per_point(protocol, bench, record=options.get("noise_record"))
    gain = front_end_gain(protocol, bench) * recovery_factor(protocol, sample)
    errors = predict_errors(
        protocol,
        sample,
        [key],
        noise_sigma=noise.quadrature / gain,
        bandwidth_hz=noise.bench.bandwidth_hz,
        seed=options.get("seed"),
        packets=options.get("packets"),
        frame="lab",
        map_function=options.get("map_function", map),
    )
    shots = shots_in_budget(protocol, budget_s)
    scaled = errors.scaled(shots)
    value, unit = float(errors.values[0]), unit_of_key(key)
    data = {
        "key": key,
        "value": value,
        "error": float(scaled.errors[0]),
        "cramer_rao_if_white": float(scaled.bound[0]),
        "shots": shots,
        "time_s": measuring_time_s(protocol, shots=shots),
        "derivative_step": 1e-3,
        "derivative_convergence": float(errors.convergence[0]),
        "estimator": "fit --frame lab: full complex trace, complex scale profiled out",
    }
    text = [
        f"predicted error of {key} (fit --free {key} --frame lab on this record, "
        f"{shots} shots, {format_duration(data['time_s'])}): "
        f"{format_with_error(value, data['error'], unit)}",
        f"  from the Fisher information of the complex trace, the receiver's noise correlation "
        f"included (derivative by central differences on the same packets, converged to "
        f"{data['derivative_convergence']:.1e})",
    ]
    return data, text


def _row(found: Candidate, result: Optimisation, label: str) -> list[str]:
    cells = [label]
    for knob in result.knobs:
        if knob.name == "shots":
            continue
        value = found.values.get(knob.name, float("nan"))
        cells.append(format_quantity(value, knob_unit(knob), digits=4))
    shots = found.protocol.shots if found.protocol is not None else 0
    cells += [f"{found.snr:.3g}"]
    if result.target is not None:
        cells.append(format_quantity(found.error, unit_of_key(result.target), digits=3))
    cells += [str(shots), format_duration(found.time_s)]
    return cells


def _optimisation_entry(result: Optimisation) -> tuple[dict[str, Any], list[str]]:
    def entry(found: Candidate) -> dict[str, Any]:
        return {
            "values": found.values,
            "snr": found.snr if math.isfinite(found.snr) else None,
            "predicted_error": found.error if math.isfinite(found.error) else None,
            "shots": found.protocol.shots if found.protocol is not None else None,
            "time_s": found.time_s,
        }

    goal = (
        f"minimise the predicted error of {result.target}"
        if result.target
        else "maximise the best point's SNR"
    )
    data = {
        "vary": [
            {"name": k.name, "lower": k.lower, "upper": k.upper} for k in result.knobs if k.searched
        ],
        "goal": goal,
        "budget_s": result.budget_s,
        "evaluations": len(result.history),
        "infeasible": sum(c.protocol is None for c in result.history),
        "start": entry(result.start),
        "best": entry(result.best),
    }
    header = ["", *(k.name for k in result.knobs if k.searched), "SNR"]
    header += [f"error {result.target}"] if result.target else []
    header += ["shots", "time"]
    rows = [header, _row(result.start, result, "as written"), _row(result.best, result, "chosen")]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    table = ["  " + "  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    table.insert(1, "  " + "  ".join("-" * w for w in widths))
    text = [
        f"optimisation: {goal} in {format_duration(result.budget_s)} "
        f"({len(result.history)} protocols evaluated, {data['infeasible']} not playable on the "
        "bench; same packets for every one)",
        *table,
    ]
    for knob in (k for k in result.knobs if k.name in result.at_bound):
        value = result.best.values.get(knob.name, math.nan)
        end = knob.lower if abs(value - knob.lower) < abs(value - knob.upper) else knob.upper
        text.append(
            f"  {knob.name} is at the end of its range "
            f"({format_quantity(end, knob_unit(knob), digits=4)}): the optimum may lie beyond; "
            f"widen it with --vary {knob.name}=LOW:HIGH"
        )
    data["at_bound"] = list(result.at_bound)
    return data, text


def extend_design(
    plan: DesignPlan,
    design: Design,
    *,
    frame: str = "rotating",
    packets: int | None = None,
    seed: int | None = None,
    noise_record: xr.Dataset | None = None,
    map_function: MapFunction = map,
    progress: Callable[[str], None] | None = None,
) -> Design:
    """Return ``design`` with the target's error and the optimisation added (module docstring).

    Parameters
    ----------
    plan
        The checked options (:func:`plan_design`).
    design
        The prediction of the protocol as written.
    frame, packets, seed, noise_record, map_function
        As for the prediction (the target's simulations run in the lab frame).
    progress
        Called with a line when the optimisation starts (the CLI prints it).
    """
    if not plan.knobs and plan.target is None and plan.budget_s is None:
        return design
    prediction = design.prediction
    protocol, sample, bench = prediction.protocol, prediction.sample, prediction.bench
    budget_s = plan.budget_s if plan.budget_s is not None else measuring_time_s(protocol)
    options: dict[str, Any] = {
        "packets": packets,
        "seed": seed,
        "noise_record": noise_record,
        "map_function": map_function,
    }
    extra = dict(design.extra)
    chosen = protocol
    if plan.knobs:
        if progress is not None:
            progress(f"optimising {', '.join(k.name for k in plan.knobs)} ...")
        result = optimise(
            protocol,
            plan.knobs,
            evaluator(sample, bench, target=plan.target, frame=frame, **options),
            bench=bench,
            target=plan.target,
            budget_s=budget_s,
        )
        if plan.target is not None:  # the SNR of the two rows, for the table
            for name in ("start", "best"):
                found = getattr(result, name)
                if found.protocol is not None:
                    figures = protocol_figures(
                        found.protocol, sample, bench, frame=frame, **options
                    )
                    setattr(result, name, replace(found, snr=figures.snr))
        data, text = _optimisation_entry(result)
        if prediction.family.name == "hole-burning":
            text.insert(1, "  SNR: of the hole depth, the pump-off reference's time included")
        extra["optimisation"] = (data, tuple(text))
        chosen = result.best.protocol or protocol
        if plan.plot is not None:
            from spin_echo.echo.design.scan_plot import plot_optimisation

            with plan.plot as image:
                plot_optimisation(result, image.partial)
    elif plan.budget_s is not None:
        chosen = with_shots(protocol, shots_in_budget(protocol, budget_s))
    if chosen is not protocol:
        extra["chosen_protocol"] = (chosen.to_yaml(), ())
    if plan.target is not None:
        data, text = _target_entry(chosen, sample, bench, plan.target, budget_s, options)
        extra["predicted_error"] = (data["error"], ())
        extra["target"] = (data, tuple(text))
    if plan.output is not None:
        header = [f"# chosen by spin-echo design for sample {sample.name}, bench {bench.name}"]
        for _, lines in extra.values():
            header += [f"# {line}" for line in lines]
        with plan.output as out:
            try:
                out.partial.write_text("\n".join(header) + "\n" + chosen.to_yaml(), "utf-8")
            except OSError as err:
                raise write_error(out.path, err) from None
        extra["protocol_file"] = (str(plan.output.path), (f"chosen protocol: {plan.output.path}",))
    return replace(design, extra=extra)
