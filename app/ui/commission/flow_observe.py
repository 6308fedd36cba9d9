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


def plot_row(r) -> tuple:
    """A stored observation sample ``[t, power, flow, t_flow, t_return, energy, volume(, Δθ)]`` as a plot row
    ``(t, power, flow, t_flow, t_return, Δθ)``: the meter's own Δθ where it was kept."""
    return tuple(r[:5]) + ((r[7],) if len(r) > 7 else ())


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
            if self.poller is None or not self.poller.running:
                self._resume_polling()
            return
        if not self.ctx.bus.connected:
            self._not_connected()
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
                     "first": None, "last": None, "missed": 0, "warned": False, "down": False}
        self._connect_poller()
        self._obs_timer.start()
        self.observe_step.set_running(True)
        self.observe_step.show_plot()
        self.next_button.setEnabled(False)
        self._observation_tick()

    def _connect_poller(self) -> None:
        self.poller.sample.connect(self._obs_sample)
        self.poller.missed.connect(self._obs_missed)
        self.poller.stopped.connect(self._obs_poller_stopped)
        self.poller.start()

    def _not_connected(self) -> None:
        """Start asked for without a connection: say so, and offer the connection remembered."""
        from app.ui.bus import ConnectionSpec

        bus = self.ctx.bus
        spec = bus.spec if bus.spec is not None and not bus.spec.simulated and bus.spec.url else None
        port = self.ctx.settings.port
        if spec is None and port and self.ctx.mode.persistent:
            spec = ConnectionSpec(port, self.ctx.settings.baud or 2400, profile=self.ctx.settings.profile or "none")
        text = "Not connected: the observation window polls the meter on the bus, so connect first."
        if spec is not None:
            self.show_warning(f"{text} The last port was {spec.url}.", action_text=f"Connect to {spec.url}",
                              action=lambda: self._reconnect(spec))
        else:
            self.show_warning(text, action_text="Connect page",
                              action=lambda: self.ctx.window and self.ctx.window.show_page("connect"))

    def _reconnect(self, spec) -> None:
        from app.ui.bus import BusUnavailable

        try:
            self.ctx.bus.connect(spec, origin=self, on_finished=lambda _r: self._connected_for_window())
        except BusUnavailable as exc:
            self.show_warning(str(exc))

    def _connected_for_window(self) -> None:
        if self.ctx.bus.connected:
            self.show_info(f"Connected to {self.ctx.bus.spec.label()}: start the observation window when ready.")

    def _resume_polling(self) -> None:
        """The window runs but its polling had stopped (Esc, a disconnect): poll again, same window."""
        if not self.ctx.bus.connected:
            self._not_connected()
            return
        if self.poller is not None:
            self.poller.deleteLater()
        from app.ui.bus import BusUnavailable

        try:
            self.poller = self.bus.poller(self._meter_ref(), self._obs["interval"], self,
                                          f"Observation window {self.state.meter_label}")
        except BusUnavailable as exc:
            self.show_warning(str(exc))
            return
        self._connect_poller()
        self.observe_step.set_running(True)
        self.show_info("Polling resumed: the observation window goes on (the polls missed meanwhile count as "
                       "missing).")

    def _obs_poller_stopped(self) -> None:
        o = self._obs
        if o is None or o.get("ending"):
            return
        self.observe_step.set_running(True, paused=True)
        self.show_warning("Polling for the observation window stopped (cancelled, or the connection was closed). "
                          "The window's time goes on and missed polls lower the completeness: resume polling, "
                          "or end early with a reason.", action_text="Resume polling", action=self.start_observation)

    def _bus_state_changed(self, state: str) -> None:
        """The connection went away or came back during the window: polling goes on and the page says so."""
        o = self._obs
        if o is None:
            return
        if state == "lost":
            o["down"] = True
            self.show_warning("Connection lost during the observation window: it goes on, and the polls missed "
                              "meanwhile lower the data completeness. Connect again (Connect page): polling picks "
                              "up by itself.", group="connection")
        elif state == "connected" and o.get("down"):
            o["down"] = False
            text = "Connection back: polling for the observation window goes on."
            self.show_info(text, group="connection")
            if self.ctx.window is not None and self.ctx.window.current_page() is not self:
                self.ctx.show_message(f"Commission: {text}", "info")

    def _obs_sample(self, t: float, service_readout) -> None:
        o = self._obs
        if o is None:
            return
        readout = MeterReadout.from_readout(service_readout)
        v = cm.readout_values(readout.telegrams, readout.read_at, self.state.kind)
        o["samples"].append(cm.ObservationSample(t, v.flow_m3h, v.t_flow_c, v.t_return_c, v.power_kw, v.energy_kwh,
                                                 v.volume_m3, v.dtheta_k))
        if o["first"] is None:
            o["first"] = readout
        o["last"] = readout
        self.observe_step.plot.add_sample(t, v.power_kw, v.flow_m3h, v.t_flow_c, v.t_return_c, dtheta_k=v.dtheta_k)
        self._observation_tick()

    def _obs_missed(self, t: float, message: str) -> None:
        o = self._obs
        if o is None:
            return
        o["missed"] += 1
        self.observe_step.plot.add_gap(t)
        if not self.ctx.bus.connected:
            return                    # the connection-lost warning says it (not the meter's fault)
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
            self.show_error("Say why you end the observation window early (the reason goes on the certificate).",
                            group="step")
            self.observe_step.reason.setFocus()
            return
        self._end_observation(reason)

    def _stop_observation(self) -> None:
        self._obs_timer.stop()
        if self._obs is not None:
            self._obs["ending"] = True
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
            self.show_warning("The observation window is still running: wait for it, or end it early with a reason.",
                              group="step")
            return
        if not self.state.observation.get("kpis"):
            self.show_error("Run the observation window first (Start observation); you may end it early with a "
                            "reason.", group="step")
            self.observe_step.start_button.setFocus()
            return
        self._advance(6)

    def _replot(self, obs: dict[str, Any]) -> None:
        plot = self.observe_step.plot
        plot.clear()
        rows = [plot_row(r) for r in obs.get("samples") or []]
        if rows:
            plot.add_samples(rows)
            plot.show_all()
        self._show_observation()
