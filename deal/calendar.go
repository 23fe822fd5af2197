package deal

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	// The time zone database is built in, so every worker reads a zone the
	// same way whatever its system has: the workflow's timers depend on it.
	_ "time/tzdata"
)

// Calendar says which days are business days: Monday to Friday in the
// firm's time zone, less its holidays. A deal carries it in its terms
// (time_zone, holidays), so the workflow computes every deadline from its
// own input and replays the same way whatever the worker's clock or
// environment.
type Calendar struct {
	loc      *time.Location
	holidays []string // YYYY-MM-DD, sorted
}

// MaxHolidays bounds the holidays a deal's terms list.
const MaxHolidays = 100

// Calendar is the deal's calendar: UTC and no holidays unless its terms
// say otherwise.
func (t Terms) Calendar() (Calendar, error) {
	return NewCalendar(t.TimeZone, t.Holidays)
}

// NewCalendar reads a zone name ("" is UTC) and holidays.
func NewCalendar(zone string, holidays []Date) (Calendar, error) {
	if zone == "" {
		zone = "UTC"
	}
	loc, err := time.LoadLocation(zone)
	if err != nil || strings.EqualFold(zone, "Local") {
		return Calendar{}, fmt.Errorf("time_zone %q is not a time zone name such as Europe/Berlin or UTC", zone)
	}
	c := Calendar{loc: loc}
	for _, h := range holidays {
		c.holidays = append(c.holidays, h.String())
	}
	slices.Sort(c.holidays)
	return c, nil
}

// FirmCalendar reads the firm's calendar from the environment, as a
// client opening a deal puts it into the deal's terms:
// DEALFLOW_TIME_ZONE (default UTC) and DEALFLOW_HOLIDAYS, a comma-separated
// list of YYYY-MM-DD.
func FirmCalendar() (zone string, holidays []Date, err error) {
	zone = os.Getenv("DEALFLOW_TIME_ZONE")
	for _, s := range strings.Split(os.Getenv("DEALFLOW_HOLIDAYS"), ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		d, err := ParseDate(s)
		if err != nil {
			return "", nil, fmt.Errorf("DEALFLOW_HOLIDAYS: %w", err)
		}
		holidays = append(holidays, d)
	}
	if len(holidays) > MaxHolidays {
		return "", nil, fmt.Errorf("DEALFLOW_HOLIDAYS lists %d days; at most %d", len(holidays), MaxHolidays)
	}
	if _, err := NewCalendar(zone, holidays); err != nil {
		return "", nil, fmt.Errorf("DEALFLOW_TIME_ZONE: %w", err)
	}
	return zone, holidays, nil
}

// IsBusinessDay is true for a Monday to Friday that is not a holiday, in
// the calendar's zone.
func (c Calendar) IsBusinessDay(t time.Time) bool {
	t = t.In(c.loc)
	if wd := t.Weekday(); wd == time.Saturday || wd == time.Sunday {
		return false
	}
	_, found := slices.BinarySearch(c.holidays, t.Format(dateLayout))
	return !found
}

// AddBusinessDays is the moment n business days after t, at the same time
// of day in the calendar's zone: a question asked on Friday at 15:00 is due
// on Tuesday at 15:00. From a day off, the count starts at midnight of the
// next business day: asked on Saturday, due on Wednesday at 00:00.
func (c Calendar) AddBusinessDays(t time.Time, n int) time.Time {
	d := t.In(c.loc)
	if !c.IsBusinessDay(d) {
		for d = midnight(d).AddDate(0, 0, 1); !c.IsBusinessDay(d); d = d.AddDate(0, 0, 1) {
		}
	}
	for i := 0; i < n; {
		d = d.AddDate(0, 0, 1)
		if c.IsBusinessDay(d) {
			i++
		}
	}
	return d.UTC()
}

func midnight(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, t.Location())
}
