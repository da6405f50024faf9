"""One simulated diaObject: its light curve sampled at a Rubin-like cadence, handed out alert by alert."""
from __future__ import annotations

import math
import random
from bisect import bisect_left, bisect_right
from typing import Any

from .cadence import (
    _CCD_NX,
    _CCD_NY,
    _DIFF_SIGMA,
    _DIPOLE_FIELDS,
    _FLAG_CUM,
    _FLAG_SETS,
    _ID_COUNTER_MASK,
    _IDS_PER_OBJECT,
    _KIND_CUM,
    _KINDS,
    _N_DETECTORS,
    _NAN,
    _PIXEL_SCALE,
    _REGIONS,
    _TRAIL_FIELDS,
    BANDS,
    MAX_HISTORY,
    MJD_START,
    _cadence,
    _history_length,
    _visit,
    _wrap_ra,
)
from .layout import _STATS_KEYS, _BandStats, _layouts


class _Object:
    """One simulated diaObject: its whole history built at once, then handed out alert by
    alert, each alert seeing only what came before it."""

    def __init__(self, seed: int, id_block: int) -> None:
        # Its own generator and id block, so it does not depend on how alerts interleave.
        self.rng = rng = random.Random(seed)
        self.id_counter = id_block * _IDS_PER_OBJECT
        k = _KINDS[bisect_right(_KIND_CUM, rng.random() * _KIND_CUM[-1])]
        self.kind = k
        self.n_hist = _history_length(rng, k)
        self.n_alerts = min(1 + int(rng.expovariate(1 / 4.0)), MAX_HISTORY + 1 - self.n_hist)
        self.sent = 0
        self.ra0 = rng.random() * 360.0
        # Uniform on the sphere south of dec +30, a little inside so scatter stays inside.
        self.dec0 = math.degrees(math.asin(rng.uniform(-0.99998, 0.499)))
        self.cos_dec = max(math.cos(math.radians(self.dec0)), 1e-3)
        self.region = "south_celestial_pole" if self.dec0 < -62 else rng.choice(_REGIONS)
        slope = rng.gauss(0.0, 0.25)  # colour: mag per band step
        self.color = {b: 10 ** (-0.4 * slope * (i - 2)) for i, b in enumerate(BANDS)}
        self.extendedness = {"sn": (0.3, 1.0), "var": (0.0, 0.05), "agn": (0.6, 1.0),
                             "bogus": (0.0, 1.0)}[k]
        self.det: list[tuple[dict[str, Any], str | None]] = []
        self.stats = {b: _BandStats() for b in BANDS}
        self.folded_det = self.folded_forced = 0
        self.sum_dra = self.sum_ddec = self.sum_err = 0.0

    def _simulate(self) -> None:
        """Build the whole history; deferred to the first alert, so that a short stream
        does not pay for the pool it never draws from."""
        rng = self.rng
        n_det = self.n_hist + self.n_alerts
        n_epochs = n_det + max(1, round(n_det * rng.uniform(0.15, 0.8)))
        ts, bands, reasons = _cadence(rng, n_epochs, self.region)
        fluxes, template = self._light_curve(ts, bands)
        r = rng.random
        seeing = [0.6 + 0.7 * r() for _ in ts]
        sigma = [_DIFF_SIGMA[b] * s / 0.8 * (0.9 + 0.2 * r()) for b, s in zip(bands, seeing)]
        detectors = [int(r() * _N_DETECTORS) for _ in ts]
        measured = [f + rng.gauss(0.0, s) for f, s in zip(fluxes, sigma)]
        # The most significant epochs are the detections.
        ranked = sorted(range(n_epochs), key=lambda i: abs(measured[i]) / sigma[i], reverse=True)
        detected = sorted(ranked[:n_det])
        for i in detected:  # a diaSource needs |S/N| >= 5
            if abs(measured[i]) < 5 * sigma[i]:
                measured[i] = math.copysign(sigma[i] * (5 + rng.expovariate(3.0)), measured[i])
        first = ts[detected[0]]
        self.first_mjd = first
        for i in detected:
            d = self._dia_source(ts[i], bands[i], detectors[i], seeing[i], sigma[i], measured[i],
                                 fluxes[i] + template[bands[i]], template[bands[i]])
            self.det.append((d, reasons[i]))
        self.object_id = self.det[0][0]["diaSourceId"]
        for d, _ in self.det:
            d["diaObjectId"] = self.object_id
        # Forced photometry from 30 days before the first detection (precovery) onward.
        start = bisect_left(ts, first - 30.0)
        self.forced = []
        self.has_forced = rng.random() >= 0.03  # a few objects have none yet
        if self.has_forced:
            on_det = set(detected)
            for i in range(start, n_epochs):
                f = measured[i] + (rng.gauss(0.0, 0.05 * sigma[i]) if i in on_det else 0.0)
                self.forced.append(self._forced_source(ts[i], bands[i], detectors[i], sigma[i], f,
                                                       fluxes[i] + template[bands[i]]))
        self.forced_t = [f["midpointMjdTai"] for f in self.forced]

    def _light_curve(self, ts: list[float], bands: list[str]) -> tuple[list[float], dict[str, float]]:
        """True difference flux per epoch and the template (reference) flux per band."""
        rng, col, kind = self.rng, self.color, self.kind
        if kind == "sn":
            peak = 10 ** ((31.4 - rng.uniform(18.0, 22.5)) / 2.5)
            span = ts[-1] - ts[0]
            t0 = ts[0] + span * rng.uniform(0.1, 0.35)
            rise, fall = rng.uniform(2.0, 10.0), max(10.0, span * rng.uniform(0.15, 0.4))
            fluxes = [peak * col[b] * math.exp(-(t - t0) / fall) / (1 + math.exp(min(-(t - t0) / rise, 700.0)))
                      for t, b in zip(ts, bands)]
            host = 0.0 if rng.random() < 0.2 else 10 ** ((31.4 - rng.uniform(19.5, 25.0)) / 2.5)
            return fluxes, {b: host * col[b] for b in BANDS}
        if kind == "var":
            base = 10 ** ((31.4 - rng.uniform(15.5, 21.0)) / 2.5)
            amp = base * rng.uniform(0.05, 0.5)
            omega = 2 * math.pi / math.exp(rng.uniform(math.log(0.1), math.log(300.0)))
            phase = rng.uniform(0, 2 * math.pi)
            fluxes = [amp * col[b] * math.sin(omega * t + phase) for t, b in zip(ts, bands)]
        elif kind == "agn":  # damped random walk
            base = 10 ** ((31.4 - rng.uniform(18.5, 22.0)) / 2.5)
            scale, tau = base * rng.uniform(0.05, 0.25), rng.uniform(30.0, 300.0)
            x, last, fluxes = rng.gauss(0.0, scale), ts[0], []
            for t, b in zip(ts, bands):
                decay = math.exp(-(t - last) / tau)
                x = x * decay + scale * math.sqrt(1 - decay * decay) * rng.gauss(0.0, 1.0)
                last = t
                fluxes.append(x * col[b])
        else:  # bogus: nothing real, only noise peaks
            base = 10 ** ((31.4 - rng.uniform(14.0, 22.0)) / 2.5)
            fluxes = [0.0] * len(ts)
        return fluxes, {b: base * col[b] for b in BANDS}

    def _new_id(self, t: float, visit: int, detector: int) -> int:
        """A 64-bit id laid out like Rubin's (night, visit sequence and detector in the high
        bits); the low 35 bits count within the object's block, which makes ids unique."""
        self.id_counter += 1
        day = int(t - MJD_START + 100) & 0x1FF
        return day << 54 | (visit % 100000 & 0x7FF) << 43 | detector << 35 | self.id_counter & _ID_COUNTER_MASK

    def _dia_source(self, t: float, band: str, detector: int, seeing: float, sigma: float,
                    flux: float, science: float, template: float) -> dict[str, Any]:
        # The hot loop: plain rng.random() arithmetic instead of rng.uniform() and few gauss().
        rng = self.rng
        r = rng.random
        bogus = self.kind == "bogus"
        ferr = sigma * (0.95 + 0.1 * r())
        snr = abs(flux) / ferr * (0.95 + 0.1 * r())
        pos_err = 0.7 / 3600 * seeing / max(snr, 3.0)
        ra_err, dec_err = pos_err * (0.8 + 0.4 * r()), pos_err * (0.8 + 0.4 * r())
        ra = _wrap_ra(self.ra0 + rng.gauss(0.0, ra_err) / self.cos_dec)
        dec = self.dec0 + rng.gauss(0.0, dec_err)
        visit = _visit(t)
        psf_mom = (seeing / 2.355) ** 2
        ext_lo, ext_hi = self.extendedness
        ext = ext_lo + (ext_hi - ext_lo) * r()
        bbox = int(12 + 8 * seeing / 0.7 * (1 + math.log10(1 + snr / 5)))
        ndata = int(bbox * bbox * (0.6 + 0.4 * r()))
        chi2 = ndata * ((1.2 + 1.8 * r()) if bogus else (0.8 + 0.5 * r()))
        pix_err = pos_err * 3600 / _PIXEL_SCALE
        sci_err = math.sqrt(0.5 * sigma * sigma + abs(science))
        dipole_fit = r() < 0.9
        is_dipole = dipole_fit and r() < (0.4 if bogus else 0.03)
        reliability = (0.4 * r() ** 1.5) if bogus else 1.0 - 0.5 * r() ** 4
        d = {
            "diaSourceId": self._new_id(t, visit, detector),
            "visit": visit,
            "detector": detector,
            "diaObjectId": None,  # set once the object's first source has its id
            "ssObjectId": None,
            "parentDiaSourceId": None,
            "midpointMjdTai": t,
            "ra": ra,
            "raErr": ra_err,
            "dec": dec,
            "decErr": dec_err,
            "ra_dec_Cov": ra_err * dec_err * (-0.3 + 0.6 * r()),
            "x": _CCD_NX * r(),
            "xErr": pix_err * (0.9 + 0.2 * r()),
            "y": _CCD_NY * r(),
            "yErr": pix_err * (0.9 + 0.2 * r()),
            "centroid_flag": False,
            "apFlux": flux + rng.gauss(0.0, 0.7 * sigma),
            "apFluxErr": sigma * (1.6 + 0.6 * r()),
            "apFlux_flag": False,
            "apFlux_flag_apertureTruncated": False,
            "isNegative": flux < 0,
            "snr": snr,
            "psfFlux": flux,
            "psfFluxErr": ferr,
            "psfLnL": -0.5 * chi2 - ndata * (0.9 + 0.2 * r()),
            "psfChi2": chi2,
            "psfNdata": ndata,
            "psfFlux_flag": False,
            "psfFlux_flag_edge": False,
            "psfFlux_flag_noGoodPixels": False,
            "trailFlux": flux * (0.95 + 0.15 * r()),
            "trailFluxErr": ferr * (1.05 + 0.25 * r()),
            "trailRa": ra,
            "trailRaErr": ra_err * 1.2,
            "trailDec": dec,
            "trailDecErr": dec_err * 1.2,
            "trailLength": 0.9 * r() * r(),
            "trailLengthErr": 0.1 + 0.4 * r(),
            "trailAngle": 180.0 * r(),
            "trailAngleErr": 5.0 + 55.0 * r(),
            "trailChi2": chi2 * (0.95 + 0.1 * r()),
            "trailNdata": ndata,
            "trail_flag_edge": False,
            "dipoleMeanFlux": abs(flux) * (0.5 + 0.4 * r()),
            "dipoleMeanFluxErr": sigma * (0.7 + 0.3 * r()),
            "dipoleFluxDiff": abs(flux) * (0.5 + 1.5 * r()) if is_dipole else rng.gauss(0.0, sigma),
            "dipoleFluxDiffErr": sigma * (1.2 + 0.4 * r()),
            "dipoleLength": (0.5 + 1.5 * r()) if is_dipole else 0.6 * r(),
            "dipoleAngle": 360.0 * r(),
            "dipoleChi2": chi2 * (0.9 + 0.15 * r()),
            "dipoleNdata": ndata,
            "scienceFlux": science + rng.gauss(0.0, sci_err),
            "scienceFluxErr": sci_err,
            "forced_PsfFlux_flag": False,
            "forced_PsfFlux_flag_edge": False,
            "forced_PsfFlux_flag_noGoodPixels": False,
            "templateFlux": template + sigma * (0.6 * r() - 0.3),
            "templateFluxErr": sigma * (0.2 + 0.2 * r()),
            "ixx": psf_mom * (1 + ext * r()),
            "iyy": psf_mom * (1 + ext * r()),
            "ixy": psf_mom * (0.1 * r() - 0.05),
            "ixxPSF": psf_mom * (0.95 + 0.1 * r()),
            "iyyPSF": psf_mom * (0.95 + 0.1 * r()),
            "ixyPSF": psf_mom * (0.04 * r() - 0.02),
            "shape_flag": False,
            "shape_flag_no_pixels": False,
            "shape_flag_not_contained": False,
            "shape_flag_parent_source": False,
            "extendedness": ext,
            "reliability": reliability,
            "band": band,
            "isDipole": is_dipole,
            "dipoleFitAttempted": dipole_fit,
            "timeProcessedMjdTai": t + (1.0 + 3.0 * r()) / 1440,
            "timeWithdrawnMjdTai": None,
            "bboxSize": bbox,
            "pixelFlags": False,
            "pixelFlags_bad": False,
            "pixelFlags_cr": False,
            "pixelFlags_crCenter": False,
            "pixelFlags_edge": False,
            "pixelFlags_nodata": False,
            "pixelFlags_nodataCenter": False,
            "pixelFlags_interpolated": False,
            "pixelFlags_interpolatedCenter": False,
            "pixelFlags_offimage": False,
            "pixelFlags_saturated": False,
            "pixelFlags_saturatedCenter": False,
            "pixelFlags_suspect": False,
            "pixelFlags_suspectCenter": False,
            "pixelFlags_streak": False,
            "pixelFlags_streakCenter": False,
            "pixelFlags_injected": False,
            "pixelFlags_injectedCenter": False,
            "pixelFlags_injected_template": False,
            "pixelFlags_injected_templateCenter": False,
            "glint_trail": False,
        }
        layout = _layouts()["diaSource"]
        layout.float32(d)
        if r() < 0.25:
            for name in _FLAG_SETS[bisect_right(_FLAG_CUM, r() * _FLAG_CUM[-1])]:
                d[name] = True
        # Blanks as in real alerts: failed fits give NaN blocks, and the odd lone null/NaN.
        if not dipole_fit:
            d.update(dict.fromkeys(_DIPOLE_FIELDS, _NAN))
        if r() < 0.03:
            d.update(dict.fromkeys(_TRAIL_FIELDS, _NAN))
        if r() < 0.3:
            for name in rng.sample(layout.blankable, rng.randint(1, 3)):
                d[name] = None if r() < 0.5 else _NAN
        return d

    def _forced_source(self, t: float, band: str, detector: int, sigma: float, flux: float,
                       science: float) -> dict[str, Any]:
        rng = self.rng
        r = rng.random
        visit = _visit(t)
        sci_err = math.sqrt(0.5 * sigma * sigma + abs(science))
        # Precovery epochs are measured the day after the object first appears.
        if t >= self.first_mjd:
            processed = t + (1.0 + 9.0 * r()) / 1440
        else:
            processed = self.first_mjd + 0.3 + 0.7 * r()
        d = {
            "diaForcedSourceId": self._new_id(t, visit, detector),
            "diaObjectId": self.object_id,
            "ra": self.ra0,
            "dec": self.dec0,
            "visit": visit,
            "detector": detector,
            "psfFlux": flux,
            "psfFluxErr": sigma * (0.95 + 0.1 * r()),
            "midpointMjdTai": t,
            "scienceFlux": science + rng.gauss(0.0, sci_err),
            "scienceFluxErr": sci_err,
            "band": band,
            "timeProcessedMjdTai": processed,
            "timeWithdrawnMjdTai": None,
        }
        layout = _layouts()["diaForcedSource"]
        layout.float32(d)
        if r() < 0.02:
            d[rng.choice(layout.blankable)] = None if r() < 0.5 else _NAN
        return d

    @property
    def remaining(self) -> int:
        return self.n_alerts - self.sent

    def next_alert(self) -> dict[str, Any]:
        """The object's next alert; its diaObject summarises all sources up to the trigger."""
        if not self.det:
            self._simulate()
        k = self.n_hist + self.sent
        self.sent += 1
        trigger, reason = self.det[k]
        t = trigger["midpointMjdTai"]
        n_forced = bisect_left(self.forced_t, t)
        self._fold(k + 1, n_forced)
        prv_forced = self.forced[max(0, n_forced - MAX_HISTORY):n_forced] if self.has_forced else None
        return {
            "diaSourceId": trigger["diaSourceId"],
            "observation_reason": reason,
            "target_name": self.region,
            "diaSource": trigger,
            "prvDiaSources": [d for d, _ in self.det[:k]],
            "prvDiaForcedSources": prv_forced,
            "diaObject": self._dia_object(trigger, k + 1),
            "ssSource": None,
            "mpc_orbits": None,
            "cutoutDifference": None,
            "cutoutScience": None,
            "cutoutTemplate": None,
        }

    def _fold(self, n_det: int, n_forced: int) -> None:
        """Add the sources since the previous alert to the running aggregates."""
        stats = self.stats
        for d, _ in self.det[self.folded_det:n_det]:
            stats[d["band"]].add_source(d["midpointMjdTai"], d["psfFlux"], d["psfFluxErr"],
                                        d["scienceFlux"], d["scienceFluxErr"])
            self.sum_dra += ((d["ra"] - self.ra0 + 180.0) % 360.0 - 180.0) * self.cos_dec
            self.sum_ddec += d["dec"] - self.dec0
            self.sum_err += d["raErr"] if d["raErr"] is not None and d["raErr"] == d["raErr"] else 1e-5
        for f in self.forced[self.folded_forced:n_forced]:
            stats[f["band"]].add_forced(f["psfFlux"], f["psfFluxErr"])
        self.folded_det, self.folded_forced = n_det, n_forced

    def _dia_object(self, trigger: dict[str, Any], n: int) -> dict[str, Any]:
        layout = _layouts()["diaObject"]
        err = self.sum_err / n / math.sqrt(n)
        d: dict[str, Any] = dict.fromkeys(layout.names)
        d.update(
            diaObjectId=self.object_id,
            validityStartMjdTai=trigger["timeProcessedMjdTai"] + 1e-5,
            ra=_wrap_ra(self.ra0 + self.sum_dra / n / self.cos_dec),
            raErr=err,
            dec=self.dec0 + self.sum_ddec / n,
            decErr=err,
            ra_dec_Cov=err * err * 0.1,
            firstDiaSourceMjdTai=self.first_mjd,
            lastDiaSourceMjdTai=trigger["midpointMjdTai"],
            nDiaSources=n,
        )
        for b in BANDS:
            self.stats[b].write(d, _STATS_KEYS[b])
        layout.float32(d)
        return d
