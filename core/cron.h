#pragma once

// A cron schedule for recurring jobs: a 5-field cron expression evaluated in an IANA time zone.
//
// Syntax (Vixie cron / cronie compatible): "minute hour day-of-month month day-of-week",
// fields separated by spaces or tabs. Each field is a comma-separated list of items; an item
// is `*`, a value `a`, a range `a-b`, or one of those with a step: `*/n`, `a-b/n`, `a/n`
// (= a-max/n). Ranges: minute 0-59, hour 0-23, day-of-month 1-31, month 1-12 or JAN..DEC,
// day-of-week 0-7 or SUN..SAT (0 and 7 are Sunday); names are case-insensitive and may be
// used wherever a number may, ranges included ("MON-FRI"). A step is 1..(size of the field's
// range). The whole expression may instead be one of the macros @yearly (= @annually,
// "0 0 1 1 *"), @monthly ("0 0 1 * *"), @weekly ("0 0 * * 0"), @daily (= @midnight,
// "0 0 * * *") or @hourly ("0 * * * *").
//
// Day matching, the classic rule: when both day-of-month and day-of-week are restricted
// (neither field starts with `*`), a day matches if EITHER matches ("0 0 13 * 5" runs on
// the 13th and on every Friday); otherwise both must match (so "*/2" in day-of-month
// counts as unrestricted for this rule, as in cronie).
//
// Time zone semantics. Occurrences are civil (wall-clock) minutes in the schedule's zone;
// Next maps each matching civil minute to an instant:
// - A civil time that exists once maps to that instant.
// - A civil time skipped by a forward offset change (02:30 on a spring-forward day in
//   Europe/Berlin or America/New_York) runs once, at the instant of the transition (the
//   first instant after the gap, i.e. 03:00 new time), as cronie runs the skipped jobs
//   when the clock jumps. Several skipped matches ("0,30 2 * * *"), and a skipped match
//   together with the match at the end of the gap ("0 2,3 * * *"), collapse into that
//   one run: Next never returns the same instant twice.
// - A civil time repeated by a backward offset change (01:30 twice on the US fall-back
//   day, 02:30 twice in the EU):
//   - a fixed-time schedule (neither the minute nor the hour field starts with `*`, e.g.
//     "30 1 * * *", @daily) runs once, at the FIRST instance. Once `after` is at or past
//     that first instance, the civil time is used up: the second instance never runs.
//   - a wildcard schedule (the minute or the hour field starts with `*`, e.g. "0 * * * *",
//     "*/15 * * * *", @hourly) runs at BOTH instances, so that "every hour" still means
//     every hour: an hourly schedule runs 25 times on a fall-back day and 23 times on a
//     spring-forward day. This is cronie's wildcard/fixed-time distinction (cronie makes
//     it for clock changes of up to three hours; here it applies to every change).
//   For every schedule a civil occurrence is returned at most once per instance, so
//   iterating t = Next(t) never repeats an occurrence.
// Consequently a daily "0 9 * * *" stays at 09:00 local time across a change and is 23 or
// 25 hours from the previous run in absolute time.
//
// Next searches at most five years ahead of `after` (in civil time): schedules that never
// match ("0 0 30 2 *", "0 0 31 4 *"), or match less often ("0 0 29 2 *" across 2100),
// yield absl::InfiniteFuture(). The search skips whole non-matching months, days and hours,
// so even those cost a few hundred steps.

#include <bitset>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace flowmonkey {

class CronSchedule {
 public:
  // Parses `expression` and loads the IANA zone `time_zone` ("Europe/Berlin", "UTC"; empty
  // means "UTC") from the system's tz database. INVALID_ARGUMENT, with a message that starts
  // "cron: <field>: " (minute, hour, day-of-month, month, day-of-week, expression,
  // time zone) and quotes the offending text, on any error: wrong field count, a value out
  // of range, an unknown name or macro, step 0, a range whose start is after its end, an
  // empty list item, trailing garbage, an unknown or non-IANA zone name ("localtime",
  // paths and "Fixed/..." names are rejected).
  static absl::StatusOr<CronSchedule> Parse(absl::string_view expression,
                                            absl::string_view time_zone);

  // The first occurrence strictly after `after` (rules above); absl::InfiniteFuture() if
  // there is none within five years, or if `after` is absl::InfiniteFuture(). `after` is
  // expected to be a real instant (absl::InfinitePast() also yields InfiniteFuture()).
  absl::Time Next(absl::Time after) const;

  // The expression and zone name as given to Parse (an empty zone name reads "UTC").
  const std::string& expression() const { return expression_; }
  const std::string& time_zone_name() const { return time_zone_name_; }

 private:
  CronSchedule() = default;

  bool DayMatches(absl::CivilDay day) const;
  // The first matching civil minute in [from, limit]; false if none.
  bool NextMatch(absl::CivilMinute from, absl::CivilMinute limit, absl::CivilMinute* match) const;
  // The earliest second instance (of a civil time repeated by a backward offset change) of a
  // matching civil minute that lies in (after, best); `best` if there is none.
  absl::Time NextSecondInstance(absl::Time after, absl::Time best, absl::Time horizon) const;

  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_of_month_;  // bits 1..31
  std::bitset<13> months_;         // bits 1..12
  std::bitset<7> days_of_week_;    // 0 = Sunday
  bool day_of_month_star_ = false;
  bool day_of_week_star_ = false;
  bool wildcard_ = false;  // the minute or the hour field starts with '*'
  absl::TimeZone zone_;
  std::string expression_;
  std::string time_zone_name_;
};

}  // namespace flowmonkey
