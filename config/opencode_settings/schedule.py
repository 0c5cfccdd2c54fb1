"""The schedule concern: optional working hours, in a time zone, when the workspace runs. OOS scheduled
executions start the instance at `start` and stop it (economical mode) at `stop` on `weekdays`."""
from __future__ import annotations

import re
import zoneinfo

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .fields import matching

_TIME_RE = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")
_DAY = r"(MON|TUE|WED|THU|FRI|SAT|SUN)"
_WEEKDAYS_RE = re.compile(rf"^(\*|{_DAY}(-{_DAY})?(,{_DAY}(-{_DAY})?)*)$")
_DAY_INDEX = {day: n for n, day in enumerate(["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"])}


class ScheduleSettings(BaseModel):
    """Working hours: started at `start`, stopped in economical mode at `stop`, on `weekdays`, in `time_zone`."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(False, description="Start and stop the workspace on a schedule (OOS scheduled executions).")
    start: str = Field("09:00", description="Time (HH:MM, 24 h, in time_zone) the workspace starts on its days.")
    stop: str = Field("19:00", description="Time (HH:MM) it stops in economical mode; a busy agent is stopped too.")
    weekdays: str = Field("MON-FRI", description="Days, as a cron day-of-week field: MON-FRI, MON,WED,FRI, or * (every day).")
    time_zone: str = Field("UTC", description="IANA time zone of start and stop, e.g. Europe/Berlin (OOS applies its DST).")

    _times = field_validator("start", "stop")(matching(_TIME_RE.pattern, "{value!r} is not a time such as 09:00 (HH:MM, 24 h)"))
    _days = field_validator("weekdays")(matching(_WEEKDAYS_RE.pattern, "{value!r} is not a day list such as MON-FRI, MON,WED,FRI or *"))

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        if value not in zoneinfo.available_timezones():
            raise ValueError(f"{value!r} is not an IANA time zone such as Europe/Berlin or Asia/Singapore")
        return value

    def cron(self, time: str) -> str:
        """OOS's cron (seconds minutes hours day-of-month month day-of-week) for `time` on the days."""
        hours, minutes = time.split(":")
        return f"0 {int(minutes)} {int(hours)} ? * {self.weekdays}"

    def days_per_week(self) -> int:
        if self.weekdays == "*":
            return 7
        days: set[int] = set()
        for part in self.weekdays.split(","):
            first, _, last = part.partition("-")
            a, b = _DAY_INDEX[first], _DAY_INDEX[last or first]
            days.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
        return len(days)

    def hours_per_week(self) -> float:
        """Hours a week the schedule keeps the workspace running (stop before start: runs overnight)."""
        start, stop = (int(t[:2]) * 60 + int(t[3:]) for t in (self.start, self.stop))
        return ((stop - start) % (24 * 60)) / 60 * self.days_per_week()


def schedule_problems(schedule: ScheduleSettings) -> list[tuple[str, str]]:
    if schedule.enabled and schedule.start == schedule.stop:
        return [("schedule.stop", "must differ from schedule.start")]
    return []
