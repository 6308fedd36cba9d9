"""Commission page: the clock step (set the meter's clock when its check fails) and the photos of the steps.
The workflow is ``app.services.commissioning`` (``record_clock_write``, ``add_photo``, ``photos``); the bus
work goes through the bus service (``drivers.clock`` below it).

A mixin of :class:`app.ui.pages.commission.CommissionPage`.
"""
from __future__ import annotations

import os
from typing import Any

from app.services import commissioning as svc

PHOTO_FILTER = "Photos (*.jpg *.jpeg *.png *.JPG *.JPEG *.PNG)"


class EvidenceFlow:
    # -- the clock step -------------------------------------------------------------------------------------
    def set_meter_clock(self, agreed: bool = False) -> None:
        """Set the meter's clock to the laptop's time; a make that counts reconfigurations asks first."""
        from app.ui.bus import BusUnavailable

        ref = self._meter_ref()
        model = self.state.identify.get("model") or None
        warning = self.bus.reconfiguration_warning(ref, model)
        if warning is not None and not agreed:
            self.show_warning(f"{warning['message'][:1].upper()}{warning['message'][1:]}. Write the clock anyway?",
                              action_text="Write the clock", action=lambda: self.set_meter_clock(agreed=True))
            return
        panel = self.plausibility_step.clock_panel
        try:
            self.bus.set_clock(ref, agreed=warning is not None, model=model, origin=self,
                               on_finished=self._clock_written, on_failed=lambda _m: panel.busy(False))
        except BusUnavailable as exc:
            self.show_warning(str(exc))
            return
        panel.busy(True)

    def _clock_written(self, result) -> None:
        panel = self.plausibility_step.clock_panel
        panel.busy(False)
        port, transport = self.bus.port()

        def kept(clock: dict[str, Any]) -> None:
            self.state.clock = clock
            self.plausibility_step.show_checks(self.state.checks, clock, not self.state.identify.get("radio"))
            self.save_draft()
            if result.ok:
                self.show_info(f"Meter clock set and confirmed ({result.before:%H:%M} -> {result.after:%H:%M}); "
                               "reading the meter again for the checks.")
                self.read_for_checks()
            else:
                self.show_error(f"The meter's clock was not set: {result.detail or result.outcome}.")

        self._write("Keeping the clock write", lambda reg, s: svc.record_clock_write(
            reg, s, result, port=port, transport=transport), kept)

    # -- photos ------------------------------------------------------------------------------------------------
    def ask_photos(self, step: str) -> None:
        """Pick photo files for ``step`` (a file dialog; none in a screenshot run)."""
        if self.state.record_id is None:
            self.show_warning("Place the meter first (step 2): photos are kept with the register's record.")
            return
        if not self.ctx.mode.interactive:
            return
        from PySide6.QtWidgets import QFileDialog

        paths, _ = QFileDialog.getOpenFileNames(self, f"Photos for {svc.step_words(step)}",
                                                self.recall("photo_dir", "", str) or "", PHOTO_FILTER)
        if paths:
            self.remember("photo_dir", os.path.dirname(paths[0]))
            self.add_photo_files(step, paths)

    def add_photo_files(self, step: str, paths: list[str]) -> None:
        """Read each file and attach it to ``step`` of the record (queued register writes, one per photo)."""
        from app.ui.commission.photos import thumbnail

        for path in paths:
            def work(reg, s, path=path):
                with open(path, "rb") as f:
                    data = f.read()
                photo = svc.add_photo(reg, s, data, step=step, filename=os.path.basename(path))
                return photo, thumbnail(data)

            self._write(f"Adding the photo {os.path.basename(path)}", work, self._photo_added)

    def _photo_added(self, res) -> None:
        photo, image = res
        self.checklist_step.gallery.add(photo, image)
        self.checklist_step.show_photo_counts()
        self.show_info(f"Photo {photo.get('filename') or photo['id']} kept with the record "
                       f"(SHA-256 {photo['sha256'][:12]}…).")

    def load_photos(self) -> None:
        """Show the record's photos (thumbnails made in a worker)."""
        gallery = self.checklist_step.gallery
        gallery.set_enabled_for(self.state.record_id is not None)
        if self.state.record_id is None:
            gallery.clear()
            self.checklist_step.show_photo_counts()
            return
        ctx = self.ctx
        s = svc.copy_state(self.state)

        def work():
            from app.ui.commission.photos import thumbnail

            return [(dict((k, v) for k, v in p.items() if k != "data"), thumbnail(p["data"]))
                    for p in svc.photos(ctx.register(), s, with_data=True)]

        def shown(items) -> None:
            gallery.set_photos(items)
            self.checklist_step.show_photo_counts()

        self.run_task("Loading the photos", work, on_finished=shown)
