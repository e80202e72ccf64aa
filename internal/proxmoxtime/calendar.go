// Package proxmoxtime ports the parts of Proxmox's proxmox-time crate
// that this project checks values against: the calendar events of PBS and
// PVE schedules. It is pure (no I/O) and shared by the provider's plan-time
// checks and the simulated PBS, so both accept exactly what proxmox-time
// accepts.
package proxmoxtime

import (
	"fmt"
	"strconv"
	"strings"
)

// Calendar events as proxmox-time parses them (calendar_event.rs,
// week_days.rs, parse_helpers.rs): the schedules of PBS jobs and
// datastores ("daily", "mon..fri 02:00", "*-*-1 03:30", "hourly UTC").
// PBS checks them with verify_calendar_event and stores the text as
// given. The parser is a nom parser; this port keeps its structure so
// that the same inputs are accepted and the failure is reported like
// parse_complete_line does: "unable to parse calendar event at '<rest>' -
// <first VerboseError entry>", e.g. Context("weekday") or Nom(Eof).

// calErr is the first entry of a nom VerboseError: where and what.
type calErr struct {
	at   string
	kind string
}

// VerifyCalendarEvent is proxmox_time::verify_calendar_event: nil when s
// is a calendar event, else the error text PBS answers with.
func VerifyCalendarEvent(s string) error {
	rest, err := parseCalendarEventIncomplete(s)
	if err == nil && rest != "" {
		err = &calErr{at: rest, kind: "Nom(Eof)"} // all_consuming
	}
	if err != nil {
		return fmt.Errorf("unable to parse calendar event at '%s' - %s", err.at, err.kind)
	}
	return nil
}

var calendarShorthands = map[string]bool{
	"minutely": true, "hourly": true, "daily": true, "weekly": true, "monthly": true,
	"yearly": true, "annually": true, "quarterly": true, "semiannually": true, "semi-annually": true,
}

func parseCalendarEventIncomplete(i string) (string, *calErr) {
	hasDay, hasDate, hasTime := false, false, false
	if n, ok := strings.CutSuffix(i, "UTC"); ok {
		i = strings.TrimRight(n, " ")
	}
	if i != "" && isASCIIAlpha(i[0]) {
		if calendarShorthands[i] {
			return "", nil
		}
		rest, err := calSeparatedList1(i, parseWeekdaysRange)
		if err != nil {
			return "", err
		}
		hasDay = true
		i = calSpace0(rest)
	}
	if rest, err := parseCalDateSpec(i); err == nil {
		hasDate = true
		i = calSpace0(rest)
	}
	if rest, err := parseCalTimeSpec(i); err == nil {
		hasTime = true
		i = rest
	}
	if !hasDay && !hasDate && !hasTime {
		return "", &calErr{at: i, kind: `Context("date or time specification")`}
	}
	return i, nil
}

func isASCIIAlpha(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }

func calSpace0(s string) string { return strings.TrimLeft(s, " \t") }

// calSeparatedList1 is nom's separated_list1(tag(","), f).
func calSeparatedList1(i string, f func(string) (string, *calErr)) (string, *calErr) {
	rest, err := f(i)
	if err != nil {
		return "", err
	}
	for {
		next, ok := strings.CutPrefix(rest, ",")
		if !ok {
			return rest, nil
		}
		r2, err := f(next)
		if err != nil {
			return rest, nil
		}
		rest = r2
	}
}

var weekdayNames = map[string]bool{
	"monday": true, "mon": true, "tuesday": true, "tue": true, "wednesday": true, "wed": true,
	"thursday": true, "thu": true, "friday": true, "fri": true, "saturday": true, "sat": true,
	"sunday": true, "sun": true,
}

func parseWeekday(i string) (string, *calErr) {
	n := 0
	for n < len(i) && isASCIIAlpha(i[n]) {
		n++
	}
	if n == 0 {
		return "", &calErr{at: i, kind: "Nom(Alpha)"}
	}
	if !weekdayNames[strings.ToLower(i[:n])] {
		return "", &calErr{at: i[:n], kind: `Context("weekday")`}
	}
	return i[n:], nil
}

func parseWeekdaysRange(i string) (string, *calErr) {
	rest, err := parseWeekday(i)
	if err != nil {
		return "", err
	}
	if next, ok := strings.CutPrefix(rest, ".."); ok {
		if r2, err := parseWeekday(next); err == nil {
			return r2, nil
		}
	}
	return rest, nil
}

// parseCalTimeComp is parse_time_comp(max): digits below max.
func parseCalTimeComp(i string, max int) (string, int, *calErr) {
	n := 0
	for n < len(i) && i[n] >= '0' && i[n] <= '9' {
		n++
	}
	if n == 0 {
		return "", 0, &calErr{at: i, kind: "Nom(Digit)"}
	}
	v, err := strconv.ParseUint(i[:n], 10, 32)
	if err != nil {
		return "", 0, &calErr{at: i, kind: "Nom(MapRes)"}
	}
	if int(v) >= max {
		return "", 0, &calErr{at: i[n:], kind: `Context("time value too large")`}
	}
	return i[n:], int(v), nil
}

// parseCalDateTimeComp is parse_date_time_comp: a value, a range a..b
// and/or a repetition /n.
func parseCalDateTimeComp(max int) func(string) (string, *calErr) {
	return func(i string) (string, *calErr) {
		rest, value, err := parseCalTimeComp(i, max)
		if err != nil {
			return "", err
		}
		if next, ok := strings.CutPrefix(rest, ".."); ok {
			if r2, end, err := parseCalTimeComp(next, max); err == nil {
				if value > end {
					return "", &calErr{at: r2, kind: `Context("range start is bigger than end")`}
				}
				rest = r2
			}
		}
		if next, ok := strings.CutPrefix(rest, "/"); ok {
			r2, _, err := parseCalTimeComp(next, max)
			if err != nil {
				return "", err
			}
			rest = r2
		}
		return rest, nil
	}
}

// parseCalCompList is parse_date_time_comp_list: "*", "*/n" or a list.
func parseCalCompList(i string, max int) (string, *calErr) {
	if rest, ok := strings.CutPrefix(i, "*"); ok {
		if next, ok := strings.CutPrefix(rest, "/"); ok {
			r2, repeat, err := parseCalTimeComp(next, max)
			if err != nil {
				return "", err
			}
			if repeat > 0 {
				return r2, nil
			}
		}
		return rest, nil
	}
	return calSeparatedList1(i, parseCalDateTimeComp(max))
}

// parseCalTimeSpec is parse_time_spec: [hour:]minute[:second].
func parseCalTimeSpec(i string) (string, *calErr) {
	if rest, err := parseCalCompList(i, 24); err == nil {
		if next, ok := strings.CutPrefix(rest, ":"); ok {
			i = next
		}
	}
	rest, err := parseCalCompList(i, 60)
	if err != nil {
		return "", err
	}
	if next, ok := strings.CutPrefix(rest, ":"); ok {
		if r2, err := parseCalCompList(next, 60); err == nil {
			rest = r2
		}
	}
	return rest, nil
}

// parseCalDateSpec is parse_date_spec: [year-]month-day.
func parseCalDateSpec(i string) (string, *calErr) {
	seq := func(s string, lists ...[2]int) (string, bool) {
		for n, l := range lists {
			if n > 0 {
				var ok bool
				if s, ok = strings.CutPrefix(s, "-"); !ok {
					return "", false
				}
			}
			rest, err := parseCalCompList(s, l[1])
			if err != nil {
				return "", false
			}
			s = rest
		}
		return s, true
	}
	if rest, ok := seq(i, [2]int{0, 2200}, [2]int{1, 13}, [2]int{1, 32}); ok {
		return rest, nil
	}
	if rest, ok := seq(i, [2]int{1, 13}, [2]int{1, 32}); ok {
		return rest, nil
	}
	return "", &calErr{at: i, kind: `Context("invalid date spec")`}
}
