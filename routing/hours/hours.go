// Package hours answers whether a queue is open: hours of operation in the
// queue's own time zone, a weekly schedule, and holidays that close a day or
// give it special hours. Routing, the chat widget and the voice menu all ask
// the same calendar, so a caller and a chat customer are never told
// different things.
package hours

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Config is a calendar as operators write it. The zero Config is invalid;
// use AlwaysOpen for a 24/7 hotline.
type Config struct {
	// TimeZone is an IANA zone name such as "Europe/Paris". Hours and holiday
	// dates are read in this zone, daylight saving included.
	TimeZone string `json:"timezone" yaml:"timezone" mapstructure:"timezone"`
	// AlwaysOpen makes the calendar open at every moment except holidays
	// without hours.
	AlwaysOpen bool `json:"always_open" yaml:"always_open" mapstructure:"always_open"`
	// Weekly maps a lower-case English day name ("monday") to the day's
	// opening spans, "HH:MM-HH:MM". A span whose end is not after its start
	// ("22:00-06:00") runs past midnight into the next day; "24:00" ends at
	// midnight. A day absent from the map is closed.
	Weekly map[string][]string `json:"weekly" yaml:"weekly" mapstructure:"weekly"`
	// Holidays override the weekly schedule for single dates.
	Holidays []Holiday `json:"holidays" yaml:"holidays" mapstructure:"holidays"`
}

// Holiday closes one date, or opens it only during its own spans.
type Holiday struct {
	Date string   `json:"date" yaml:"date" mapstructure:"date"` // YYYY-MM-DD in the calendar's zone
	Name string   `json:"name" yaml:"name" mapstructure:"name"` // said to callers and shown in the widget
	Open []string `json:"open" yaml:"open" mapstructure:"open"` // special hours; empty means closed all day
}

// ErrInvalid is wrapped by every configuration error New returns.
var ErrInvalid = errors.New("hours: invalid calendar")

// Calendar is a validated, ready calendar. It is immutable and safe for
// concurrent use.
type Calendar struct {
	loc        *time.Location
	alwaysOpen bool
	weekly     [7][]span // by time.Weekday
	holidays   map[civilDate]holiday
}

type span struct{ start, end int } // minutes after local midnight; end may exceed 1440 (past midnight)

type holiday struct {
	name  string
	spans []span
}

type civilDate struct {
	y int
	m time.Month
	d int
}

func dateOf(t time.Time) civilDate {
	y, m, d := t.Date()
	return civilDate{y, m, d}
}

func (c civilDate) addDays(n int) civilDate {
	return dateOf(time.Date(c.y, c.m, c.d+n, 12, 0, 0, 0, time.UTC))
}

// at is the instant minute m (may exceed a day) after midnight of c in loc.
// Minutes are counted on the wall clock, so a day with a daylight-saving
// change still opens at the written hour.
func (c civilDate) at(m int, loc *time.Location) time.Time {
	return time.Date(c.y, c.m, c.d, 0, m, 0, 0, loc)
}

var dayNames = map[string]time.Weekday{
	"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday, "wednesday": time.Wednesday,
	"thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday,
}

// New validates cfg and builds its calendar. The error lists every problem,
// each naming the field it is about.
func New(cfg Config) (*Calendar, error) {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	c := &Calendar{alwaysOpen: cfg.AlwaysOpen, holidays: map[civilDate]holiday{}}
	if cfg.TimeZone == "" {
		bad("timezone: required (an IANA name such as Europe/Paris)")
	} else if loc, err := time.LoadLocation(cfg.TimeZone); err != nil {
		bad("timezone: unknown zone %q", cfg.TimeZone)
	} else {
		c.loc = loc
	}
	if cfg.AlwaysOpen && len(cfg.Weekly) > 0 {
		bad("weekly: must be empty when always_open is set")
	}
	if !cfg.AlwaysOpen && len(cfg.Weekly) == 0 {
		bad("weekly: no opening hours (set always_open for 24/7)")
	}
	for name, spans := range cfg.Weekly {
		wd, ok := dayNames[strings.ToLower(name)]
		if !ok {
			bad("weekly.%s: not a day name (monday..sunday)", name)
			continue
		}
		parsed, err := parseSpans(spans)
		if err != nil {
			bad("weekly.%s: %v", name, err)
			continue
		}
		c.weekly[wd] = parsed
	}
	for i, h := range cfg.Holidays {
		d, err := time.Parse(time.DateOnly, h.Date)
		if err != nil {
			bad("holidays[%d].date: %q is not YYYY-MM-DD", i, h.Date)
			continue
		}
		cd := dateOf(d)
		if _, dup := c.holidays[cd]; dup {
			bad("holidays[%d].date: %s is listed twice", i, h.Date)
			continue
		}
		parsed, err := parseSpans(h.Open)
		if err != nil {
			bad("holidays[%d].open: %v", i, err)
			continue
		}
		c.holidays[cd] = holiday{name: h.Name, spans: parsed}
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		return nil, fmt.Errorf("%w: %s", ErrInvalid, strings.Join(problems, "; "))
	}
	return c, nil
}

// AlwaysOpen returns a 24/7 calendar in UTC with no holidays.
func AlwaysOpen() *Calendar {
	return &Calendar{loc: time.UTC, alwaysOpen: true, holidays: map[civilDate]holiday{}}
}

func parseSpans(in []string) ([]span, error) {
	out := make([]span, 0, len(in))
	for _, s := range in {
		a, b, ok := strings.Cut(strings.TrimSpace(s), "-")
		if !ok {
			return nil, fmt.Errorf("%q is not HH:MM-HH:MM", s)
		}
		start, err := parseClock(a, false)
		if err != nil {
			return nil, fmt.Errorf("%q: %v", s, err)
		}
		end, err := parseClock(b, true)
		if err != nil {
			return nil, fmt.Errorf("%q: %v", s, err)
		}
		if end <= start {
			end += 24 * 60 // runs past midnight
		}
		out = append(out, span{start, end})
	}
	slices.SortFunc(out, func(x, y span) int { return x.start - y.start })
	for i := 1; i < len(out); i++ {
		if out[i].start < out[i-1].end {
			return nil, fmt.Errorf("spans %s and %s overlap", fmtSpan(out[i-1]), fmtSpan(out[i]))
		}
	}
	return out, nil
}

func parseClock(s string, isEnd bool) (int, error) {
	s = strings.TrimSpace(s)
	var h, m int
	if len(s) != 5 || s[2] != ':' {
		return 0, fmt.Errorf("%q is not HH:MM", s)
	}
	if _, err := fmt.Sscanf(s, "%2d:%2d", &h, &m); err != nil {
		return 0, fmt.Errorf("%q is not HH:MM", s)
	}
	if isEnd && h == 24 && m == 0 {
		return 24 * 60, nil
	}
	if h < 0 || h > 23 || m < 0 || m > 59 {
		return 0, fmt.Errorf("%q is not a time of day", s)
	}
	return h*60 + m, nil
}

func fmtSpan(s span) string {
	return fmt.Sprintf("%02d:%02d-%02d:%02d", s.start/60, s.start%60, (s.end/60)%24, s.end%60)
}

// Status is the calendar's answer for one moment.
type Status struct {
	Open bool
	// Holiday names the holiday in force, if any ("" otherwise).
	Holiday string
	// Until is when Open next changes; zero if it never does (24/7 with no
	// holiday ahead, or closed with no opening hours within a year).
	Until time.Time
}

// Location is the calendar's time zone.
func (c *Calendar) Location() *time.Location { return c.loc }

// IsOpen reports whether the calendar is open at t.
func (c *Calendar) IsOpen(t time.Time) bool {
	t = t.In(c.loc)
	d := dateOf(t)
	for _, day := range []civilDate{d, d.addDays(-1)} {
		for _, s := range c.spansOf(day) {
			if !t.Before(day.at(s.start, c.loc)) && t.Before(day.at(s.end, c.loc)) {
				return true
			}
		}
	}
	return false
}

// spansOf is the day's opening spans: its holiday's if it has one, else the
// weekly schedule's (all day when always open).
func (c *Calendar) spansOf(d civilDate) []span {
	if h, ok := c.holidays[d]; ok {
		return h.spans
	}
	if c.alwaysOpen {
		return []span{{0, 24 * 60}}
	}
	return c.weekly[time.Date(d.y, d.m, d.d, 12, 0, 0, 0, time.UTC).Weekday()]
}

// horizon bounds the search for the next change: a calendar closed for more
// than a year is as good as closed.
const horizon = 400

// Status reports whether the calendar is open at t, which holiday applies,
// and when that changes.
func (c *Calendar) Status(t time.Time) Status {
	t = t.In(c.loc)
	st := Status{Open: c.IsOpen(t)}
	if h, ok := c.holidays[dateOf(t)]; ok {
		st.Holiday = h.name
	}
	st.Until = c.nextChange(t, st.Open)
	return st
}

// NextOpen returns the first moment at or after t when the calendar is open,
// and false if there is none within about a year.
func (c *Calendar) NextOpen(t time.Time) (time.Time, bool) {
	if c.IsOpen(t) {
		return t, true
	}
	n := c.nextChange(t.In(c.loc), false)
	return n, !n.IsZero()
}

// nextChange finds the first boundary after t where openness differs from
// open. Boundaries are span starts and ends and midnights (holidays switch
// the schedule at midnight), day by day from the day before t; candidates are
// checked with IsOpen so adjoining spans (23:00-24:00 then 00:00-01:00) are
// not mistaken for a change. A day's overnight span ends on the next day, so
// candidates are merged across days: once day d is added, those before d+1's
// midnight cannot be preceded by any later day's.
func (c *Calendar) nextChange(t time.Time, open bool) time.Time {
	start := dateOf(t).addDays(-1)
	var pending []time.Time
	for i := 0; i < horizon; i++ {
		d := start.addDays(i)
		for _, s := range c.spansOf(d) {
			pending = append(pending, d.at(s.start, c.loc), d.at(s.end, c.loc))
		}
		pending = append(pending, d.at(0, c.loc))
		slices.SortFunc(pending, func(a, b time.Time) int { return a.Compare(b) })
		limit := d.addDays(1).at(0, c.loc)
		k := 0
		for ; k < len(pending) && pending[k].Before(limit); k++ {
			if x := pending[k]; x.After(t) && c.IsOpen(x) != open {
				return x
			}
		}
		pending = pending[k:]
	}
	return time.Time{}
}
