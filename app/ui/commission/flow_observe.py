"""Commission page, step 5: the observation window (a live poller, its plot and KPIs).
The KPIs are ``app.core.commissioning.observation_kpis``; what the window leaves and how it is
stored is ``app.services.commissioning`` (``observation_record``, ``save_observation``).

A mixin of :class:`app.ui.pages.commission.CommissionPage`.
"""
from __future__ import annotations

import time
from typing import Any

from app.core import commissioning as cm
from app.services import commissioning as svc
from app.services.commissioning import MeterReadout


class ObserveFlow:
    def observation_advice(self) -> tuple[str, float | None]:
        """(text, seconds): how long to observe for a conclusive energy-increment check, from the registers'
        resolution and the power now (``app.core.commissioning.conclusive_after_s``)."""
        inc = next((c for c in self.state.checks if c["key"] == "energy_increment"), None)
        need = ((inc or {}).get("values") or {}).get("conclusive_after_s")
        if not need:
            return "", None
        step = ((inc or {}).get("values") or {}).get("energy_step_kwh")
        reg = f" (energy register step {step:g} kWh)" if step else ""
        return (f"For a conclusive energy-increment check observe at least <b>{cm.human_duration(need)}</b>{reg} "
                f"in all, from the first plausibility readout; extend a running window with <b>+10 min</b>."), need

    def _show_advice(self) -> None:
        text, _need = self.observation_advice()
        self.observe_step.show_advice(text)

    def extend_observation(self, minutes: int) -> None:
        o = self._obs
        if o is None:
            return
        o["total"] += minutes * 60.0
        self.observe_step.plot.set_window(max(120, int(o["total"])))
        self.show_info(f"Observation window extended by {minutes} min (now {o['total'] / 60:.0f} min in all).")
        self._observation_tick()

    def _show_observation(self) -> None:
        self._show_advice()
        obs = self.state.observation
        if obs.get("kpis"):
            inc = next((c for c in self.state.checks if c["key"] == "energy_increment"), None)
            self.observe_step.show_kpis(obs["kpis"], obs["kpis"]["duration_s"], obs["kpis"]["duration_s"], inc)

    def start_observation(self) -> None:
        if self._obs is not None:
            return
        ref = self._meter_ref()
        interval = self.observe_step.interval.value()
        total = self.observation_seconds or self.observe_step.minutes.value() * 60
        self.remember("window_min", self.observe_step.minutes.value())
        self.remember("interval_s", interval)
        self.state.observation = {}
        self.state.readouts = [r for r in self.state.readouts
                               if r.get("role") not in ("observation_start", "observation_end")]
        plot = self.observe_step.plot
        plot.clear()
        plot.max_gap_s = 2.5 * interval
        plot.set_window(max(120, int(total)))
        from app.ui.bus import BusUnavailable

        try:
            self.poller = self.bus.poller(ref, interval, self, f"Observation window {self.state.meter_label}")
        except BusUnavailable as exc:
            self.show_warning(str(exc))
            return
        interval = float(getattr(self.poller, "interval_s", interval))     # a radio meter: its send interval
        plot.max_gap_s = 2.5 * interval
        self._obs = {"start": time.time(), "total": float(total), "interval": float(interval), "samples": [],
                     "first": None, "last": None, "missed": 0, "warned": False}
        self.poller.sample.connect(self._obs_sample)
        self.poller.missed.connect(self._obs_missed)
        self.poller.start()
        self._obs_timer.start()
        self.observe_step.set_running(True)
        self.observe_step.show_plot()
        self.next_button.setEnabled(False)
        self._observation_tick()

    def _obs_sample(self, t: float, service_readout) -> None:
        o = self._obs
        if o is None:
            return
        readout = MeterReadout.from_readout(service_readout)
        v = cm.readout_values(readout.telegrams, readout.read_at, self.state.kind)
        o["samples"].append(cm.ObservationSample(t, v.flow_m3h, v.t_flow_c, v.t_return_c, v.power_kw, v.energy_kwh,
                                                 v.volume_m3))
        if o["first"] is None:
            o["first"] = readout
        o["last"] = readout
        self.observe_step.plot.add_sample(t, v.power_kw, v.flow_m3h, v.t_flow_c, v.t_return_c)
        self._observation_tick()

    def _obs_missed(self, t: float, message: str) -> None:
        o = self._obs
        if o is None:
            return
        o["missed"] += 1
        self.observe_step.plot.add_gap(t)
        if not o["warned"]:
            o["warned"] = True
            self.show_warning(f"A poll got no answer ({message}); the window goes on and the missed polls lower the "
                              "data completeness.")

    def _obs_kpis(self, end: float) -> dict[str, Any]:
        o = self._obs
        return cm.observation_kpis(o["samples"], start_epoch_s=o["start"], end_epoch_s=end, interval_s=o["interval"])

    def _observation_tick(self) -> None:
        o = self._obs
        if o is None:
            self._obs_timer.stop()
            return
        now = time.time()
        elapsed = now - o["start"]
        k = self._obs_kpis(min(now, o["start"] + o["total"]))
        self.observe_step.show_kpis(k, min(elapsed, o["total"]), o["total"])
        if elapsed >= o["total"]:
            self._end_observation(None)

    def end_observation_early(self) -> None:
        reason = self.observe_step.reason.text().strip()
        if not reason:
            self.show_error("Say why you end the observation window early (the reason goes on the certificate).")
            self.observe_step.reason.setFocus()
            return
        self._end_observation(reason)

    def _stop_observation(self) -> None:
        self._obs_timer.stop()
        if self.poller is not None:
            self.poller.stop()
            self.poller.deleteLater()
            self.poller = None
        self._obs = None
        self.observe_step.set_running(False)
        self.next_button.setEnabled(True)

    def _end_observation(self, reason: str | None) -> None:
        o = self._obs
        if o is None:
            return
        end = min(time.time(), o["start"] + o["total"])
        self._stop_observation()
        s = self.state
        s.observation, entries = svc.observation_record(
            o["samples"], start_epoch_s=o["start"], end_epoch_s=end, interval_s=o["interval"], planned_s=o["total"],
            missed=o["missed"], ended_early=reason, first=o["first"], last=o["last"])
        s.readouts.extend(entries)
        kpis = s.observation["kpis"]
        weights = [(x.flow_m3h, x.t_flow_c, x.t_return_c, o["interval"]) for x in o["samples"]]
        self.observe_step.show_kpis(kpis, end - o["start"], o["total"])
        c = kpis["completeness"]
        pct = "—" if c["pct"] is None else f"{c['pct']:.1f} %"
        self.show_info(f"Observation window done: completeness {pct} ({c['received']} of {c['expected']} polls)"
                       + (f", VWAFT {kpis['vwaft_c']:.2f} °C" if kpis.get("vwaft_c") is not None else "")
                       + (f"; ended early: {reason}" if reason else "") + ".")

        def done(res) -> None:
            rec, readouts, checks, mpe = res
            ids = {(r["role"], r["read_at"]): r.get("id") for r in readouts}
            for r in self.state.readouts:
                if r.get("id") is None:
                    r["id"] = ids.get((r["role"], r["read_at"]))
            self.state.checks, self.state.mpe = checks, mpe
            self._show_latest_values()
            self._show_observation()
            self._apply_record(rec)

        self._write("Saving the observation window", lambda reg, st: svc.save_observation(reg, st, weights), done)

    def _finish_observation_step(self) -> None:
        if self._obs is not None:
            self.show_warning("The observation window is still running: wait for it, or end it early with a reason.")
            return
        if not self.state.observation.get("kpis"):
            self.show_error("Run the observation window first (Start observation); you may end it early with a "
                            "reason.")
            self.observe_step.start_button.setFocus()
            return
        self._advance(6)

    def _replot(self, obs: dict[str, Any]) -> None:
        plot = self.observe_step.plot
        plot.clear()
        rows = [tuple(r[:5]) for r in obs.get("samples") or []]
        if rows:
            plot.add_samples(rows)
            plot.show_all()
        self._show_observation()
