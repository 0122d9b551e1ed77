"""Expanding recurring events and ICS feeds: DST, RRULE/EXDATE/RECURRENCE-ID, zones, all-day events."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from config import FeedConfig, RecurringEventConfig
from handlers.agenda.occurrences import expand_calendar, expand_recurring, parse_calendar, route
from handlers.french import format_date_fr, format_datetime_fr, format_delay_fr, format_time_fr

PARIS = ZoneInfo("Europe/Paris")
PERMANENCE = RecurringEventConfig(
    title="Permanence",
    rrule="FREQ=MONTHLY;BYDAY=1TU",
    time="10:00",
    duration_minutes=90,
    link="https://visio.example.org/p",
)


def window(first: date, last: date) -> tuple[datetime, datetime]:
    return datetime(first.year, first.month, first.day, tzinfo=PARIS), datetime(
        last.year, last.month, last.day, tzinfo=PARIS
    )


def test_ten_o_clock_stays_local_across_both_dst_changes():
    daily = RecurringEventConfig(title="Point", rrule="FREQ=DAILY", time="10:00")
    spring = expand_recurring(daily, PARIS, *window(date(2027, 3, 27), date(2027, 3, 30)))
    autumn = expand_recurring(daily, PARIS, *window(date(2027, 10, 30), date(2027, 11, 2)))
    for occurrence in spring + autumn:
        assert (occurrence.start.hour, occurrence.start.minute) == (10, 0)
    # 2027-03-28: +01:00 -> +02:00; 2027-10-31: +02:00 -> +01:00.
    assert [o.start.astimezone(UTC).hour for o in spring] == [9, 8, 8]
    assert [o.start.astimezone(UTC).hour for o in autumn] == [8, 9, 9]
    assert [o.start.utcoffset() for o in autumn] == [timedelta(hours=2), timedelta(hours=1), timedelta(hours=1)]


def test_monthly_permanence_keeps_ten_o_clock_winter_and_summer():
    occurrences = expand_recurring(PERMANENCE, PARIS, *window(date(2027, 1, 1), date(2028, 1, 1)))
    assert {o.start.strftime("%H:%M") for o in occurrences} == {"10:00"}
    offsets = {o.start.month: o.start.utcoffset().total_seconds() / 3600 for o in occurrences}
    assert offsets[3] == 1 and offsets[4] == 2 and offsets[10] == 2 and offsets[11] == 1
    assert all(o.end - o.start == timedelta(minutes=90) for o in occurrences)


def test_first_tuesday_of_every_month_for_a_year():
    occurrences = expand_recurring(PERMANENCE, PARIS, *window(date(2027, 1, 1), date(2028, 1, 1)))
    expected = []
    for month in range(1, 13):
        day = date(2027, month, 1)
        while day.weekday() != 1:
            day += timedelta(days=1)
        expected.append(day)
    assert [o.start.date() for o in occurrences] == expected
    assert expected[2] == date(2027, 3, 2) and expected[5] == date(2027, 6, 1)
    # The identity of an occurrence is its local date, so editing the time moves rather than replaces it.
    assert occurrences[0].key == "config-permanence|2027-01-05"


def test_start_date_bounds_the_series():
    later = RecurringEventConfig(title="Agora", rrule="FREQ=MONTHLY;BYDAY=1TU", time="18:00", start_date="2027-06-01")
    occurrences = expand_recurring(later, PARIS, *window(date(2027, 1, 1), date(2027, 9, 1)))
    assert [o.start.month for o in occurrences] == [6, 7, 8]


SERIES = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//FR
BEGIN:VTIMEZONE
TZID:Europe/Paris
BEGIN:STANDARD
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
END:DAYLIGHT
END:VTIMEZONE
BEGIN:VEVENT
UID:journee-pairs@example.org
DTSTART;TZID=Europe/Paris:20270302T140000
DTEND;TZID=Europe/Paris:20270302T170000
RRULE:FREQ=WEEKLY;COUNT=6
EXDATE;TZID=Europe/Paris:20270316T140000
SUMMARY:Journée des pairs
LOCATION:Salle Agora
CATEGORIES:Pairs
END:VEVENT
BEGIN:VEVENT
UID:journee-pairs@example.org
RECURRENCE-ID;TZID=Europe/Paris:20270323T140000
DTSTART;TZID=Europe/Paris:20270324T090000
DTEND;TZID=Europe/Paris:20270324T120000
SUMMARY:Journée des pairs (décalée)
CATEGORIES:Pairs
END:VEVENT
BEGIN:VEVENT
UID:journee-pairs@example.org
RECURRENCE-ID;TZID=Europe/Paris:20270330T140000
DTSTART;TZID=Europe/Paris:20270330T140000
DTEND;TZID=Europe/Paris:20270330T170000
STATUS:CANCELLED
SUMMARY:Journée des pairs
END:VEVENT
BEGIN:VEVENT
UID:seminaire@example.org
DTSTART;VALUE=DATE:20270310
DTEND;VALUE=DATE:20270312
SUMMARY:Séminaire
CATEGORIES:Tribus,Animation
END:VEVENT
END:VCALENDAR
"""
FEED = FeedConfig(
    url="https://agenda.example.org/feed.ics",
    rooms=("tous",),
    categories={"pairs": ("pairs",), "Tribus": ("tribus",), "animation": ("animation",)},
)


def feed_occurrences(text: str = SERIES, feed: FeedConfig = FEED):
    return expand_calendar(parse_calendar(text), feed, PARIS, *window(date(2027, 1, 1), date(2027, 12, 31)))


def test_ics_series_with_exception_date_moved_and_cancelled_occurrences():
    series = [o for o in feed_occurrences() if o.uid == "journee-pairs@example.org"]
    live = [o for o in series if not o.cancelled]
    assert [o.start.strftime("%m-%d %H:%M") for o in live] == [
        "03-02 14:00",
        "03-09 14:00",
        "03-24 09:00",
        "04-06 14:00",
    ]
    moved = live[2]
    assert moved.title == "Journée des pairs (décalée)"
    # The moved occurrence keeps the identity of the one it replaces (2027-03-23 14:00 local = 13:00Z).
    assert moved.key == "journee-pairs@example.org|20270323T130000Z"
    cancelled = [o for o in series if o.cancelled]
    assert [o.start.date() for o in cancelled] == [date(2027, 3, 30)]
    # After the spring change the same 14:00 local is 12:00 UTC.
    assert live[3].start.astimezone(UTC).hour == 12
    assert live[0].rooms == ("pairs",) and live[0].location == "Salle Agora"


def test_all_day_event_and_category_routing():
    seminar = next(o for o in feed_occurrences() if o.uid == "seminaire@example.org")
    assert seminar.all_day and seminar.start == datetime(2027, 3, 10, tzinfo=PARIS)
    assert seminar.end == datetime(2027, 3, 12, tzinfo=PARIS)
    # A one-off event is identified by its uid alone, so moving it keeps its reminders.
    assert seminar.key == "seminaire@example.org"
    assert seminar.rooms == ("tribus", "animation")
    # Reminders of an all-day event count back from 09:00 local on the day.
    assert seminar.anchor == datetime(2027, 3, 10, 9, 0, tzinfo=PARIS)
    assert route(["Autre"], FEED) == ("tous",)


X_WR_ONLY = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Google Inc//Google Calendar 70.9054//EN
X-WR-TIMEZONE:Europe/Paris
BEGIN:VEVENT
UID:agora@example.org
DTSTART:20270323T090000Z
DTEND:20270323T100000Z
RRULE:FREQ=WEEKLY;COUNT=3
SUMMARY:Agora
END:VEVENT
END:VCALENDAR
"""


def test_calendar_naming_its_zone_only_in_x_wr_timezone():
    occurrences = feed_occurrences(X_WR_ONLY)
    # 09:00Z is 10:00 in Paris in March; the series keeps 10:00 local after the DST change
    # (read as plain UTC it would drift to 11:00 local).
    assert [o.start.strftime("%d %H:%M %z") for o in occurrences] == [
        "23 10:00 +0100",
        "30 10:00 +0200",
        "06 10:00 +0200",
    ]


def test_garbage_is_not_a_calendar():
    with pytest.raises(ValueError, match="not an iCalendar document"):
        parse_calendar("<html><body>502 Bad Gateway</body></html>")


def test_french_formatting_without_locale():
    moment = datetime(2027, 3, 2, 10, 0, tzinfo=PARIS)
    assert format_datetime_fr(moment, PARIS) == "mardi 2 mars 2027 à 10h00"
    assert format_datetime_fr(moment.astimezone(UTC), PARIS) == "mardi 2 mars 2027 à 10h00"
    assert format_date_fr(date(2027, 8, 1)) == "dimanche 1er août 2027"
    assert format_time_fr(datetime(2027, 3, 2, 9, 5)) == "9h05"
    assert [format_delay_fr(m) for m in (15, 60, 120, 1440, 2880)] == [
        "dans 15 minutes",
        "dans 1 heure",
        "dans 2 heures",
        "demain",
        "dans 2 jours",
    ]
