#include "core/cron.h"

#include <algorithm>
#include <array>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace flowmonkey {
namespace {

constexpr std::array<absl::string_view, 12> kMonthNames = {
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<absl::string_view, 7> kDayNames = {"sun", "mon", "tue", "wed",
                                                        "thu", "fri", "sat"};

constexpr std::array<std::pair<absl::string_view, absl::string_view>, 7> kMacros = {{
    {"@yearly", "0 0 1 1 *"},
    {"@annually", "0 0 1 1 *"},
    {"@monthly", "0 0 1 * *"},
    {"@weekly", "0 0 * * 0"},
    {"@daily", "0 0 * * *"},
    {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
}};

// How far ahead Next looks.
constexpr int kSearchYears = 5;

struct Field {
  absl::string_view name;
  int lo;
  int hi;
  // Names for lo, lo+1, ...; empty if the field has none.
  const absl::string_view* names = nullptr;
  int name_count = 0;
};

constexpr Field kMinute{"minute", 0, 59};
constexpr Field kHour{"hour", 0, 23};
constexpr Field kDayOfMonth{"day-of-month", 1, 31};
constexpr Field kMonth{"month", 1, 12, kMonthNames.data(), 12};
constexpr Field kDayOfWeek{"day-of-week", 0, 7, kDayNames.data(), 7};

absl::Status FieldError(const Field& field, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat("cron: ", field.name, ": ", message));
}

// One value: decimal digits, or a name of the field (case-insensitive). Range-checked.
absl::StatusOr<int> ParseValue(const Field& field, absl::string_view text) {
  if (text.empty()) return FieldError(field, "missing value");
  int value = -1;
  if (std::all_of(text.begin(), text.end(), absl::ascii_isdigit)) {
    if (text.size() > 4) {  // too long for any field; avoids overflow
      return FieldError(field, absl::StrCat(text, " is out of range ", field.lo, "..", field.hi));
    }
    value = 0;
    for (char c : text) value = value * 10 + (c - '0');
  } else if (std::all_of(text.begin(), text.end(), absl::ascii_isalpha)) {
    for (int i = 0; i < field.name_count; ++i) {
      if (absl::EqualsIgnoreCase(text, field.names[i])) value = field.lo + i;
    }
    if (value < 0) {
      return FieldError(field, field.name_count == 0
                                   ? absl::StrCat("\"", text, "\" is not a number")
                                   : absl::StrCat("unknown name \"", text, "\""));
    }
  } else {
    return FieldError(field, absl::StrCat("invalid value \"", text, "\""));
  }
  if (value < field.lo || value > field.hi) {
    return FieldError(field, absl::StrCat(text, " is out of range ", field.lo, "..", field.hi));
  }
  return value;
}

// One comma-separated field into `bits` (bit i = value i). `star` is set if the field's text
// starts with '*'.
template <size_t N>
absl::Status ParseField(const Field& field, absl::string_view text, std::bitset<N>& bits,
                        bool& star) {
  star = absl::StartsWith(text, "*");
  for (absl::string_view item : absl::StrSplit(text, ',')) {
    if (item.empty()) {
      return FieldError(field, absl::StrCat("empty list item in \"", text, "\""));
    }
    absl::string_view base = item;
    int step = 1;
    bool has_step = false;
    if (const size_t slash = item.find('/'); slash != absl::string_view::npos) {
      base = item.substr(0, slash);
      const absl::string_view step_text = item.substr(slash + 1);
      const int span = field.hi - field.lo + 1;
      if (step_text.empty() ||
          !std::all_of(step_text.begin(), step_text.end(), absl::ascii_isdigit)) {
        return FieldError(field,
                          absl::StrCat("invalid step \"", step_text, "\" in \"", item, "\""));
      }
      if (step_text.size() > 4) {
        return FieldError(field, absl::StrCat("step ", step_text, " in \"", item,
                                              "\" is out of range 1..", span));
      }
      step = 0;
      for (char c : step_text) step = step * 10 + (c - '0');
      if (step < 1 || step > span) {
        return FieldError(field, absl::StrCat("step ", step_text, " in \"", item,
                                              "\" is out of range 1..", span));
      }
      has_step = true;
    }
    int first = field.lo;
    int last = field.hi;
    if (base != "*") {
      const size_t dash = base.find('-');
      auto a = ParseValue(field, base.substr(0, dash));
      if (!a.ok()) return a.status();
      first = *a;
      if (dash != absl::string_view::npos) {
        auto b = ParseValue(field, base.substr(dash + 1));
        if (!b.ok()) return b.status();
        last = *b;
        if (first > last) {
          return FieldError(
              field, absl::StrCat("range \"", base, "\" starts after it ends in \"", item, "\""));
        }
      } else if (!has_step) {
        last = first;
      }
    }
    for (int v = first; v <= last; v += step) {
      // Day-of-week 7 is Sunday, like 0.
      bits.set(static_cast<size_t>(v) % N);
    }
  }
  return absl::OkStatus();
}

// IANA names only: letters, digits, '_', '-', '+', separated by single '/'; no leading '/',
// no "." or ".." segments. Keeps file paths and "Fixed/..." forms away from the loader.
bool LooksLikeIanaName(absl::string_view name) {
  if (name.empty()) return false;
  for (absl::string_view segment : absl::StrSplit(name, '/')) {
    if (segment.empty()) return false;
    for (char c : segment) {
      if (!absl::ascii_isalnum(c) && c != '_' && c != '-' && c != '+') return false;
    }
  }
  return name != "localtime";
}

int CronWeekday(absl::CivilDay day) {
  // absl::Weekday: monday = 0 .. sunday = 6; cron: sunday = 0 .. saturday = 6.
  return (static_cast<int>(absl::GetWeekday(day)) + 1) % 7;
}

}  // namespace

absl::StatusOr<CronSchedule> CronSchedule::Parse(absl::string_view expression,
                                                 absl::string_view time_zone) {
  CronSchedule schedule;
  schedule.expression_ = std::string(expression);
  schedule.time_zone_name_ = time_zone.empty() ? "UTC" : std::string(time_zone);
  if (!LooksLikeIanaName(schedule.time_zone_name_) ||
      !absl::LoadTimeZone(schedule.time_zone_name_, &schedule.zone_)) {
    return absl::InvalidArgumentError(
        absl::StrCat("cron: time zone: unknown time zone \"", time_zone, "\""));
  }

  absl::string_view text = absl::StripAsciiWhitespace(expression);
  if (absl::StartsWith(text, "@")) {
    absl::string_view expanded;
    for (const auto& [name, fields] : kMacros) {
      if (absl::EqualsIgnoreCase(text, name)) expanded = fields;
    }
    if (expanded.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("cron: expression: unknown macro \"", text,
                       "\" (want @yearly, @annually, @monthly, @weekly, @daily, @midnight or "
                       "@hourly)"));
    }
    text = expanded;
  }

  const std::vector<absl::string_view> fields =
      absl::StrSplit(text, absl::ByAnyChar(" \t"), absl::SkipEmpty());
  if (fields.size() != 5) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cron: expression: want 5 fields (minute hour day-of-month month day-of-week), got ",
        fields.size(), " in \"", expression, "\""));
  }
  bool minute_star = false;
  bool hour_star = false;
  bool month_star = false;
  if (auto s = ParseField(kMinute, fields[0], schedule.minutes_, minute_star); !s.ok()) return s;
  if (auto s = ParseField(kHour, fields[1], schedule.hours_, hour_star); !s.ok()) return s;
  if (auto s =
          ParseField(kDayOfMonth, fields[2], schedule.days_of_month_, schedule.day_of_month_star_);
      !s.ok()) {
    return s;
  }
  if (auto s = ParseField(kMonth, fields[3], schedule.months_, month_star); !s.ok()) return s;
  if (auto s =
          ParseField(kDayOfWeek, fields[4], schedule.days_of_week_, schedule.day_of_week_star_);
      !s.ok()) {
    return s;
  }
  schedule.wildcard_ = minute_star || hour_star;
  return schedule;
}

bool CronSchedule::DayMatches(absl::CivilDay day) const {
  const bool dom = days_of_month_[day.day()];
  const bool dow = days_of_week_[CronWeekday(day)];
  if (day_of_month_star_ || day_of_week_star_) return dom && dow;
  return dom || dow;
}

bool CronSchedule::NextMatch(absl::CivilMinute from, absl::CivilMinute limit,
                             absl::CivilMinute* match) const {
  absl::CivilMinute c = from;
  while (c <= limit) {
    if (!months_[c.month()]) {
      c = absl::CivilMinute(absl::CivilMonth(c) + 1);
    } else if (!DayMatches(absl::CivilDay(c))) {
      c = absl::CivilMinute(absl::CivilDay(c) + 1);
    } else if (!hours_[c.hour()]) {
      c = absl::CivilMinute(absl::CivilHour(c) + 1);
    } else if (!minutes_[c.minute()]) {
      ++c;
    } else {
      *match = c;
      return true;
    }
  }
  return false;
}

absl::Time CronSchedule::NextSecondInstance(absl::Time after, absl::Time best,
                                            absl::Time horizon) const {
  // Walk the zone's offset changes from a little before `after` (so that a repeated period
  // containing `after` is seen) until one starts at or after `best`.
  absl::Time cursor = after - absl::Hours(48);
  absl::TimeZone::CivilTransition transition;
  while (zone_.NextTransition(cursor, &transition)) {
    const absl::Time at = zone_.At(transition.to).trans;
    if (at <= cursor || at >= best || at > horizon) break;
    cursor = at;
    if (transition.to >= transition.from) continue;  // a forward jump repeats nothing
    // Civil times in [to, from) happened before `at`, and happen again from `at` on: the
    // second instance of civil time c is at + (c - to).
    absl::CivilMinute c = absl::CivilMinute(transition.to);
    if (absl::CivilSecond(c) < transition.to) ++c;
    const absl::CivilMinute last = absl::CivilMinute(transition.from - 1);
    absl::CivilMinute match;
    while (NextMatch(c, last, &match)) {
      const absl::Time second = at + absl::Seconds(absl::CivilSecond(match) - transition.to);
      if (second > after) {
        best = std::min(best, second);
        break;
      }
      c = match + 1;
    }
  }
  return best;
}

absl::Time CronSchedule::Next(absl::Time after) const {
  if (after == absl::InfiniteFuture()) return absl::InfiniteFuture();
  // Candidates are civil minutes strictly after the civil time of `after`. A civil minute
  // maps to its only instant, to the transition instant if it was skipped, and to its
  // first instance if it is repeated (its second instance is NextSecondInstance's job).
  // That mapping never decreases with civil time, so the first candidate whose instant is
  // after `after` is the earliest; candidates before it can only be first instances of a
  // repeated hour that `after` has already passed.
  const absl::CivilMinute start = absl::CivilMinute(zone_.At(after).cs) + 1;
  const absl::CivilMinute limit(start.year() + kSearchYears, start.month(), start.day(),
                                start.hour(), start.minute());
  absl::Time best = absl::InfiniteFuture();
  absl::CivilMinute c = start;
  absl::CivilMinute match;
  while (NextMatch(c, limit, &match)) {
    const absl::TimeZone::TimeInfo info = zone_.At(match);
    const absl::Time t = info.kind == absl::TimeZone::TimeInfo::SKIPPED ? info.trans : info.pre;
    if (t > after) {
      best = t;
      break;
    }
    c = match + 1;
  }
  if (wildcard_) {
    best = NextSecondInstance(after, best, absl::FromCivil(limit, zone_));
  }
  return best;
}

}  // namespace flowmonkey
