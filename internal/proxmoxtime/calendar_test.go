package proxmoxtime

import "testing"

// The examples of PBS's calendar-event documentation (proxmox-backup
// docs/calendarevents.rst) are accepted; the failures read as PBS answers
// them (proxmox-time parse_complete_line).
func TestVerifyCalendarEvent(t *testing.T) {
	for _, ok := range []string{
		"daily", "hourly", "weekly", "monthly", "yearly", "quarterly", "semiannually", "minutely",
		"mon,tue,wed,thu,fri", "mon..fri", "sat,sun", "sat..sun", "mon,wed,fri",
		"12:05", "*:00/5", "0/1:0/5", "mon..wed *:30/10", "mon..fri 8..17,22:0/15",
		"fri 12..13:5/20", "12,14,16,18,20,22:5", "*/2:05",
		"2020-01-01", "*-*-1 03:30", "mon..fri 02:00", "sat *-1..7 15:00", "daily UTC", "02:00 UTC",
		"Sat", "21:00:30",
		// The hour is optional and nom's opt backtracks when it fails (25 is
		// no hour): minute 25, second 0.
		"25:00",
	} {
		if err := VerifyCalendarEvent(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for in, want := range map[string]string{
		"foo": `unable to parse calendar event at 'foo' - Context("weekday")`,
		"":    `unable to parse calendar event at '' - Context("date or time specification")`,
		// The time spec fails as a whole (minute 61), so the weekday is all
		// that parsed.
		"mon..fri 2:61":  `unable to parse calendar event at '2:61' - Nom(Eof)`,
		"daily 02:00":    `unable to parse calendar event at 'daily' - Context("weekday")`,
		"02:00 tomorrow": `unable to parse calendar event at ' tomorrow' - Nom(Eof)`,
	} {
		err := VerifyCalendarEvent(in)
		if err == nil || err.Error() != want {
			t.Errorf("%q: got %v, want %s", in, err, want)
		}
	}
}

func FuzzVerifyCalendarEvent(f *testing.F) {
	for _, s := range []string{"daily", "mon..fri 02:00", "*-*-1 03:30", "*/2:05", "sat *-1..7 15:00 UTC"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { _ = VerifyCalendarEvent(s) })
}
