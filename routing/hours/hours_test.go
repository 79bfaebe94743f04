package hours

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func mustNew(t *testing.T, cfg Config) *Calendar {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func at(t *testing.T, zone, s string) time.Time {
	t.Helper()
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// A French support desk: weekdays with a lunch break, Saturday morning,
// Christmas closed, Christmas Eve short.
var paris = Config{
	TimeZone: "Europe/Paris",
	Weekly: map[string][]string{
		"monday": {"08:00-12:30", "13:30-18:00"}, "tuesday": {"08:00-12:30", "13:30-18:00"},
		"wednesday": {"08:00-12:30", "13:30-18:00"}, "thursday": {"08:00-12:30", "13:30-18:00"},
		"friday": {"08:00-12:30", "13:30-18:00"}, "saturday": {"09:00-12:00"},
	},
	Holidays: []Holiday{
		{Date: "2026-12-25", Name: "Noël"},
		{Date: "2026-12-24", Name: "Réveillon", Open: []string{"08:00-12:00"}},
	},
}

func TestIsOpen(t *testing.T) {
	night := Config{TimeZone: "Europe/Moscow", Weekly: map[string][]string{"friday": {"22:00-06:00"}}}
	always := Config{TimeZone: "UTC", AlwaysOpen: true, Holidays: []Holiday{{Date: "2026-01-01", Name: "New Year"}}}
	tests := []struct {
		name string
		cfg  Config
		when string
		want bool
	}{
		{"monday morning", paris, "2026-11-23 08:00", true},
		{"before opening", paris, "2026-11-23 07:59", false},
		{"lunch break", paris, "2026-11-23 12:30", false},
		{"afternoon", paris, "2026-11-23 17:59", true},
		{"closing time", paris, "2026-11-23 18:00", false},
		{"saturday", paris, "2026-11-28 11:00", true},
		{"sunday", paris, "2026-11-29 11:00", false},
		{"christmas closed", paris, "2026-12-25 10:00", false},
		{"christmas eve short hours", paris, "2026-12-24 11:00", true},
		{"christmas eve afternoon", paris, "2026-12-24 14:00", false},
		{"overnight start", night, "2026-11-27 23:00", true},
		{"overnight past midnight", night, "2026-11-28 05:59", true},
		{"overnight end", night, "2026-11-28 06:00", false},
		{"24/7", always, "2026-03-03 03:03", true},
		{"24/7 holiday", always, "2026-01-01 12:00", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustNew(t, tt.cfg)
			if got := c.IsOpen(at(t, tt.cfg.TimeZone, tt.when)); got != tt.want {
				t.Fatalf("IsOpen(%s) = %v, want %v", tt.when, got, tt.want)
			}
		})
	}
}

func TestIsOpenAnyZoneOfTheAsker(t *testing.T) {
	c := mustNew(t, paris)
	// 07:30 UTC on a Monday in November is 08:30 in Paris.
	if !c.IsOpen(time.Date(2026, 11, 23, 7, 30, 0, 0, time.UTC)) {
		t.Fatal("calendar read a UTC instant as Paris wall-clock time")
	}
}

func TestStatusUntil(t *testing.T) {
	c := mustNew(t, paris)
	tests := []struct {
		when, until string
		open        bool
		holiday     string
	}{
		{"2026-11-23 09:00", "2026-11-23 12:30", true, ""},
		{"2026-11-23 12:45", "2026-11-23 13:30", false, ""},
		{"2026-11-28 12:00", "2026-11-30 08:00", false, ""}, // Saturday noon to Monday
		{"2026-12-24 09:00", "2026-12-24 12:00", true, "Réveillon"},
		{"2026-12-24 13:00", "2026-12-26 09:00", false, "Réveillon"}, // Christmas closed, Saturday opens 09:00
		{"2026-12-25 10:00", "2026-12-26 09:00", false, "Noël"},
	}
	for _, tt := range tests {
		st := c.Status(at(t, "Europe/Paris", tt.when))
		want := at(t, "Europe/Paris", tt.until)
		if st.Open != tt.open || !st.Until.Equal(want) || st.Holiday != tt.holiday {
			t.Errorf("Status(%s) = {open %v until %s holiday %q}, want {open %v until %s holiday %q}",
				tt.when, st.Open, st.Until.In(c.Location()).Format("2006-01-02 15:04"), st.Holiday, tt.open, tt.until, tt.holiday)
		}
	}
}

func TestOvernightUntilCrossesMidnight(t *testing.T) {
	c := mustNew(t, Config{TimeZone: "Europe/Berlin", Weekly: map[string][]string{
		"friday": {"22:00-24:00"}, "saturday": {"00:00-06:00"},
	}})
	st := c.Status(at(t, "Europe/Berlin", "2026-11-27 23:00"))
	if !st.Open || !st.Until.Equal(at(t, "Europe/Berlin", "2026-11-28 06:00")) {
		t.Fatalf("adjoining spans across midnight: %+v, want open until Saturday 06:00", st)
	}
}

func TestDaylightSavingKeepsWallClockHours(t *testing.T) {
	c := mustNew(t, Config{TimeZone: "Europe/Paris", Weekly: map[string][]string{"sunday": {"09:00-17:00"}, "monday": {"09:00-17:00"}}})
	// Clocks go back on 2026-10-25: 09:00 that Sunday is 08:00 UTC, the
	// Sunday before it is 07:00 UTC.
	if !c.IsOpen(time.Date(2026, 10, 25, 8, 0, 0, 0, time.UTC)) || c.IsOpen(time.Date(2026, 10, 25, 7, 30, 0, 0, time.UTC)) {
		t.Error("after the autumn change, Sunday does not open at 09:00 local")
	}
	if !c.IsOpen(time.Date(2026, 10, 18, 7, 0, 0, 0, time.UTC)) {
		t.Error("before the autumn change, Sunday does not open at 09:00 local")
	}
}

func TestNextOpen(t *testing.T) {
	c := mustNew(t, paris)
	got, ok := c.NextOpen(at(t, "Europe/Paris", "2026-12-24 20:00"))
	if !ok || !got.Equal(at(t, "Europe/Paris", "2026-12-26 09:00")) {
		t.Fatalf("NextOpen = %v %v, want Saturday 26th 09:00", got, ok)
	}
	open := at(t, "Europe/Paris", "2026-11-23 10:00")
	if got, ok := c.NextOpen(open); !ok || !got.Equal(open) {
		t.Fatalf("NextOpen while open = %v %v, want the same moment", got, ok)
	}
	never := mustNew(t, Config{TimeZone: "UTC", Weekly: map[string][]string{"monday": {"09:00-10:00"}}, Holidays: nil})
	if _, ok := never.NextOpen(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)); !ok {
		t.Fatal("a weekly calendar found no next opening")
	}
	if st := AlwaysOpen().Status(time.Now()); !st.Open || !st.Until.IsZero() {
		t.Fatalf("AlwaysOpen().Status = %+v, want open forever", st)
	}
}

func TestNewRejects(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no zone", Config{AlwaysOpen: true}, "timezone: required"},
		{"unknown zone", Config{TimeZone: "Mars/Olympus", AlwaysOpen: true}, `timezone: unknown zone "Mars/Olympus"`},
		{"no hours", Config{TimeZone: "UTC"}, "weekly: no opening hours"},
		{"both", Config{TimeZone: "UTC", AlwaysOpen: true, Weekly: map[string][]string{"monday": {"09:00-10:00"}}}, "weekly: must be empty"},
		{"bad day", Config{TimeZone: "UTC", Weekly: map[string][]string{"lundi": {"09:00-10:00"}}}, "weekly.lundi: not a day name"},
		{"bad span", Config{TimeZone: "UTC", Weekly: map[string][]string{"monday": {"9-10"}}}, `weekly.monday: "9-10"`},
		{"bad hour", Config{TimeZone: "UTC", Weekly: map[string][]string{"monday": {"09:00-25:00"}}}, "not a time of day"},
		{"overlap", Config{TimeZone: "UTC", Weekly: map[string][]string{"monday": {"09:00-12:00", "11:00-13:00"}}}, "overlap"},
		{"bad date", Config{TimeZone: "UTC", AlwaysOpen: true, Holidays: []Holiday{{Date: "25/12/2026"}}}, "holidays[0].date"},
		{"twice", Config{TimeZone: "UTC", AlwaysOpen: true, Holidays: []Holiday{{Date: "2026-12-25"}, {Date: "2026-12-25"}}}, "listed twice"},
		{"bad holiday hours", Config{TimeZone: "UTC", AlwaysOpen: true, Holidays: []Holiday{{Date: "2026-12-24", Open: []string{"x"}}}}, "holidays[0].open"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New = %v, want an ErrInvalid mentioning %q", err, tt.want)
			}
		})
	}
}
