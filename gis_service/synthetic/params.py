"""The generator's parameters: one frozen object, written verbatim into the truth file.

Defaults are judgement calls meant to look like Huế, not measurements (no public report
dataset for Huế exists); each says what it controls.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class GeneratorParams:
    """Every knob of the synthetic history's model (see :mod:`gis_service.synthetic.generator`)."""

    #: Reporting rate: reports per day of an open incident (the intensity of the Poisson
    #: process of residents' reports) in urban wards and rural communes, before
    #: commune-level variation. 1 / rate is the expected delay before the first report.
    urban_reports_per_day: float = 0.2
    rural_reports_per_day: float = 0.06
    #: Standard deviation of the commune-level log-normal factor on the reporting rate
    #: (mean-one: it spreads communes around the setting's rate without shifting it).
    commune_rate_sigma: float = 0.25
    #: Mean days an incident lasts if nobody reports it (exponential): an incident not
    #: reported by then is never seen.
    unreported_lifetime_days: float = 10.0
    #: Incidents per resident in urban wards relative to rural communes.
    urban_incident_ratio: float = 2.0
    #: Share of all incidents that happen in the clusters around markets, tourist streets,
    #: heritage sites, schools, stations and beaches (the rest are spread over communes).
    cluster_share: float = 0.2
    #: Standard deviation (metres) of a report's point around the incident, by location source.
    jitter_gps_m: float = 10.0
    jitter_manual_m: float = 25.0
    jitter_geocoded_m: float = 40.0
    #: Channel shares (app, web, hotline): hotline is the rural residents' channel.
    urban_channels: tuple[float, float, float] = (0.55, 0.15, 0.30)
    rural_channels: tuple[float, float, float] = (0.30, 0.10, 0.60)
    #: Share of original reports rejected as not valid.
    rejected_share: float = 0.04
    #: Rural communes answer and resolve more slowly (multipliers on the category medians).
    rural_response_factor: float = 1.8
    rural_resolution_factor: float = 1.6
    #: Log-normal spread of response and resolution times around the medians.
    response_sigma: float = 0.8
    resolution_sigma: float = 0.7
    #: Mean days from resolution to closing (the resident confirms, or it closes itself).
    close_delay_days: float = 2.0
    #: Share of resolved reports whose resident gives a rating.
    urban_rated_share: float = 0.55
    rural_rated_share: float = 0.40
    #: Satisfaction: mean 4.1 at the category's median time, minus this per e-fold slower.
    satisfaction_slope: float = 0.9
    satisfaction_noise: float = 0.7
    #: Share of ratings of 1 or 2 after which the resident reopens the report.
    reopen_if_unhappy: float = 0.35
    #: Seasonal bumps: width (days) of the Tết peak; (month, day) and width of the
    #: flood-season and summer peaks.
    tet_width_days: float = 10.0
    flood_peak: tuple[int, int] = (10, 31)
    flood_width_days: float = 25.0
    summer_peak: tuple[int, int] = (7, 15)
    summer_width_days: float = 40.0
    #: Relative report volume on Saturdays and Sundays.
    saturday_factor: float = 0.9
    sunday_factor: float = 0.8
    #: Residents who report per commune: one in this many residents (at least 50).
    residents_per_reporter: int = 25

    def reports_per_day(self, rural: bool) -> float:
        return self.rural_reports_per_day if rural else self.urban_reports_per_day

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (tuples as lists)."""
        return {key: list(value) if isinstance(value, tuple) else value
                for key, value in dataclasses.asdict(self).items()}
