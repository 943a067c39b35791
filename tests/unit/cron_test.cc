#include "core/cron.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace flowmonkey {
namespace {

// An instant given as UTC civil time.
absl::Time Utc(int y, int mo, int d, int h = 0, int mi = 0, int s = 0) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s), absl::UTCTimeZone());
}

// An instant given as civil time at a fixed UTC offset in hours (EST = -5, CEST = +2).
absl::Time At(int offset_hours, int y, int mo, int d, int h, int mi = 0) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, 0),
                         absl::FixedTimeZone(offset_hours * 3600));
}

CronSchedule MustParse(absl::string_view expression, absl::string_view zone = "UTC") {
  absl::StatusOr<CronSchedule> schedule = CronSchedule::Parse(expression, zone);
  EXPECT_TRUE(schedule.ok()) << expression << " " << zone << ": " << schedule.status();
  if (!schedule.ok()) return *CronSchedule::Parse("* * * * *", "UTC");
  return *std::move(schedule);
}

// The first n occurrences after `after`.
std::vector<absl::Time> Take(const CronSchedule& schedule, absl::Time after, int n) {
  std::vector<absl::Time> out;
  for (int i = 0; i < n; ++i) {
    after = schedule.Next(after);
    out.push_back(after);
  }
  return out;
}

// Every occurrence in [from, to), by iterating Next.
std::vector<absl::Time> Between(const CronSchedule& schedule, absl::Time from, absl::Time to) {
  std::vector<absl::Time> out;
  for (absl::Time t = schedule.Next(from - absl::Nanoseconds(1)); t < to; t = schedule.Next(t)) {
    out.push_back(t);
    if (out.size() > 10'000) break;
  }
  return out;
}

void ExpectSameOccurrences(absl::string_view a, absl::string_view b) {
  const absl::Time from = Utc(2026, 1, 1);
  EXPECT_EQ(Take(MustParse(a), from, 20), Take(MustParse(b), from, 20)) << a << " vs " << b;
}

TEST(CronScheduleTest, ParsesAcceptedForms) {
  for (const char* expression : {
           "* * * * *",
           "0 0 1 1 0",
           "59 23 31 12 7",
           "*/5 * * * *",
           "0-30/10 * * * *",
           "5/15 * * * *",
           "1,2,3-5,*/20 * * * *",
           "0 9 * * MON-FRI",
           "0 0 1 jan,Jul *",
           "0 0 * * sun,Sat",
           "  0\t0   *  * *  ",
           "*/60 */24 */31 */12 */8",
           "00 09 01 01 00",
           "@yearly",
           "@annually",
           "@monthly",
           "@weekly",
           "@daily",
           "@midnight",
           "@hourly",
           " @DAILY ",
       }) {
    EXPECT_TRUE(CronSchedule::Parse(expression, "UTC").ok()) << expression;
  }
  for (const char* zone : {"", "UTC", "Europe/Berlin", "America/New_York",
                           "America/Argentina/Buenos_Aires", "Etc/GMT+5"}) {
    EXPECT_TRUE(CronSchedule::Parse("* * * * *", zone).ok()) << zone;
  }
  const CronSchedule schedule = MustParse("0 9 * * 1-5", "");
  EXPECT_EQ(schedule.expression(), "0 9 * * 1-5");
  EXPECT_EQ(schedule.time_zone_name(), "UTC");
}

TEST(CronScheduleTest, RejectsWithFieldAndText) {
  struct Case {
    const char* expression;
    const char* zone;
    const char* message;  // a substring of the error
  };
  for (const Case& c : std::vector<Case>{
           {"", "UTC", "cron: expression: want 5 fields"},
           {"* * * *", "UTC", "cron: expression: want 5 fields"},
           {"* * * * * *", "UTC", "got 6"},
           {"@reboot", "UTC", "cron: expression: unknown macro \"@reboot\""},
           {"@daily x", "UTC", "cron: expression: unknown macro"},
           {"60 * * * *", "UTC", "cron: minute: 60 is out of range 0..59"},
           {"* 24 * * *", "UTC", "cron: hour: 24 is out of range 0..23"},
           {"* 25 * * *", "UTC", "cron: hour: 25 is out of range 0..23"},
           {"* * 0 * *", "UTC", "cron: day-of-month: 0 is out of range 1..31"},
           {"* * 32 * *", "UTC", "cron: day-of-month: 32 is out of range 1..31"},
           {"* * * 0 *", "UTC", "cron: month: 0 is out of range 1..12"},
           {"* * * 13 *", "UTC", "cron: month: 13 is out of range 1..12"},
           {"* * * * 8", "UTC", "cron: day-of-week: 8 is out of range 0..7"},
           {"99999999999 * * * *", "UTC", "cron: minute: 99999999999 is out of range"},
           {"*/0 * * * *", "UTC", "cron: minute: step 0 in \"*/0\""},
           {"1-5/0 * * * *", "UTC", "cron: minute: step 0"},
           {"*/61 * * * *", "UTC", "cron: minute: step 61"},
           {"* */ * * *", "UTC", "cron: hour: invalid step \"\""},
           {"1/2/3 * * * *", "UTC", "cron: minute: invalid step \"2/3\""},
           {"* * 20-10 * *", "UTC", "cron: day-of-month: range \"20-10\" starts after it ends"},
           {"* * * * FRI-MON", "UTC", "cron: day-of-week: range \"FRI-MON\""},
           {"1,,2 * * * *", "UTC", "cron: minute: empty list item in \"1,,2\""},
           {"1, * * * *", "UTC", "cron: minute: empty list item"},
           {"* ,1 * * *", "UTC", "cron: hour: empty list item"},
           {"5x * * * *", "UTC", "cron: minute: invalid value \"5x\""},
           {"* 1-5/2x * * *", "UTC", "cron: hour: invalid step \"2x\""},
           {"* * * 1- *", "UTC", "cron: month: missing value"},
           {"-1 * * * *", "UTC", "cron: minute: missing value"},
           {"1-2-3 * * * *", "UTC", "cron: minute: invalid value \"2-3\""},
           {"** * * * *", "UTC", "cron: minute: invalid value \"**\""},
           {"+5 * * * *", "UTC", "cron: minute: invalid value \"+5\""},
           {"mon * * * *", "UTC", "cron: minute: \"mon\" is not a number"},
           {"* * * FOO *", "UTC", "cron: month: unknown name \"FOO\""},
           {"* * * * monday", "UTC", "cron: day-of-week: unknown name \"monday\""},
           {"* * * jan-foo *", "UTC", "cron: month: unknown name \"foo\""},
           {"* * mon * *", "UTC", "cron: day-of-month: \"mon\" is not a number"},
           {"* * * * *", "Mars/Olympus_Mons",
            "cron: time zone: unknown time zone \"Mars/Olympus_Mons\""},
           {"* * * * *", "localtime", "cron: time zone: unknown time zone \"localtime\""},
           {"* * * * *", "/usr/share/zoneinfo/UTC", "cron: time zone"},
           {"* * * * *", "../zoneinfo/UTC", "cron: time zone"},
           {"* * * * *", "Fixed/UTC+01:00:00", "cron: time zone"},
           {"* * * * *", "Europe//Berlin", "cron: time zone"},
       }) {
    const absl::StatusOr<CronSchedule> schedule = CronSchedule::Parse(c.expression, c.zone);
    ASSERT_FALSE(schedule.ok()) << "\"" << c.expression << "\" " << c.zone;
    EXPECT_EQ(schedule.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(schedule.status().message().find(c.message), std::string::npos)
        << "\"" << c.expression << "\": " << schedule.status().message()
        << "\n  want: " << c.message;
  }
}

TEST(CronScheduleTest, NamesAndMacros) {
  ExpectSameOccurrences("0 0 1 jan *", "0 0 1 1 *");
  ExpectSameOccurrences("0 12 * FEB-apr,Dec *", "0 12 * 2-4,12 *");
  ExpectSameOccurrences("0 9 * * MON-FRI", "0 9 * * 1-5");
  ExpectSameOccurrences("0 9 * * sun", "0 9 * * 0");
  ExpectSameOccurrences("0 9 * * 7", "0 9 * * 0");
  ExpectSameOccurrences("0 9 * * 5-7", "0 9 * * 0,5,6");
  ExpectSameOccurrences("@yearly", "0 0 1 1 *");
  ExpectSameOccurrences("@annually", "0 0 1 1 *");
  ExpectSameOccurrences("@monthly", "0 0 1 * *");
  ExpectSameOccurrences("@weekly", "0 0 * * 0");
  ExpectSameOccurrences("@daily", "0 0 * * *");
  ExpectSameOccurrences("@midnight", "0 0 * * *");
  ExpectSameOccurrences("@hourly", "0 * * * *");

  // 2026-03-01 is a Sunday.
  EXPECT_EQ(MustParse("0 9 * * 7").Next(Utc(2026, 2, 27)), Utc(2026, 3, 1, 9));
  EXPECT_EQ(MustParse("@weekly").Next(Utc(2026, 3, 1)), Utc(2026, 3, 8));
  EXPECT_EQ(MustParse("@yearly").Next(Utc(2026, 3, 1)), Utc(2027, 1, 1));
}

TEST(CronScheduleTest, DayOfMonthOrDayOfWeekWhenBothRestricted) {
  const absl::Time from = Utc(2026, 3, 1);  // a Sunday
  // The 13th or any Friday (2026-03-13 is both; 2026-04-13 is a Monday).
  EXPECT_EQ(Take(MustParse("0 0 13 * 5"), from, 8),
            (std::vector<absl::Time>{Utc(2026, 3, 6), Utc(2026, 3, 13), Utc(2026, 3, 20),
                                     Utc(2026, 3, 27), Utc(2026, 4, 3), Utc(2026, 4, 10),
                                     Utc(2026, 4, 13), Utc(2026, 4, 17)}));
  // Only one restricted: that one alone.
  EXPECT_EQ(Take(MustParse("0 0 13 * *"), from, 2),
            (std::vector<absl::Time>{Utc(2026, 3, 13), Utc(2026, 4, 13)}));
  EXPECT_EQ(Take(MustParse("0 0 * * 5"), from, 2),
            (std::vector<absl::Time>{Utc(2026, 3, 6), Utc(2026, 3, 13)}));
  // A field starting with '*' counts as unrestricted even with a step: both must match, so
  // odd days that are Fridays.
  EXPECT_EQ(Take(MustParse("0 0 */2 * 5"), from, 4),
            (std::vector<absl::Time>{Utc(2026, 3, 13), Utc(2026, 3, 27), Utc(2026, 4, 3),
                                     Utc(2026, 4, 17)}));
  EXPECT_EQ(Take(MustParse("0 0 13 * */7"), from, 2),
            (std::vector<absl::Time>{Utc(2026, 9, 13), Utc(2026, 12, 13)}));  // Sundays the 13th
  // Month still restricts both alternatives: the 1st or Mondays, in June only.
  EXPECT_EQ(Take(MustParse("0 0 1 6 mon"), from, 3),
            (std::vector<absl::Time>{Utc(2026, 6, 1), Utc(2026, 6, 8), Utc(2026, 6, 15)}));
}

TEST(CronScheduleTest, StepsRangesAndLists) {
  const absl::Time from = Utc(2026, 5, 4, 10, 0);
  auto minutes = [&](absl::string_view expression, int n) {
    std::vector<int> out;
    for (absl::Time t : Take(MustParse(expression), from, n)) {
      out.push_back(absl::ToCivilMinute(t, absl::UTCTimeZone()).minute());
    }
    return out;
  };
  EXPECT_EQ(minutes("0-10/5,30 * * * *", 5), (std::vector<int>{5, 10, 30, 0, 5}));
  EXPECT_EQ(minutes("10/20 * * * *", 4), (std::vector<int>{10, 30, 50, 10}));
  EXPECT_EQ(minutes("*/25 * * * *", 4), (std::vector<int>{25, 50, 0, 25}));
  EXPECT_EQ(minutes("58-59,1 * * * *", 4), (std::vector<int>{1, 58, 59, 1}));
  EXPECT_EQ(minutes("*/60 * * * *", 2), (std::vector<int>{0, 0}));
  EXPECT_EQ(minutes("7 * * * *", 2), (std::vector<int>{7, 7}));

  EXPECT_EQ(Take(MustParse("0 */7 * * *"), from, 4),
            (std::vector<absl::Time>{Utc(2026, 5, 4, 14), Utc(2026, 5, 4, 21), Utc(2026, 5, 5, 0),
                                     Utc(2026, 5, 5, 7)}));
  EXPECT_EQ(Take(MustParse("30 8-10,22 * * *"), from, 4),
            (std::vector<absl::Time>{Utc(2026, 5, 4, 10, 30), Utc(2026, 5, 4, 22, 30),
                                     Utc(2026, 5, 5, 8, 30), Utc(2026, 5, 5, 9, 30)}));
  EXPECT_EQ(Take(MustParse("0 0 1 */5 *"), from, 3),  // months 1, 6, 11
            (std::vector<absl::Time>{Utc(2026, 6, 1), Utc(2026, 11, 1), Utc(2027, 1, 1)}));
  EXPECT_EQ(Take(MustParse("0 0 25-27/2 12 *"), from, 3),
            (std::vector<absl::Time>{Utc(2026, 12, 25), Utc(2026, 12, 27), Utc(2027, 12, 25)}));
}

TEST(CronScheduleTest, UtcBasics) {
  const CronSchedule quarter = MustParse("*/15 * * * *");
  EXPECT_EQ(Take(quarter, Utc(2026, 12, 31, 23, 7), 4),
            (std::vector<absl::Time>{Utc(2026, 12, 31, 23, 15), Utc(2026, 12, 31, 23, 30),
                                     Utc(2026, 12, 31, 23, 45), Utc(2027, 1, 1, 0, 0)}));
  // Strictly after: an occurrence instant itself is not returned again; anything before it is.
  EXPECT_EQ(quarter.Next(Utc(2026, 1, 1, 10, 15)), Utc(2026, 1, 1, 10, 30));
  EXPECT_EQ(quarter.Next(Utc(2026, 1, 1, 10, 15) - absl::Nanoseconds(1)), Utc(2026, 1, 1, 10, 15));
  EXPECT_EQ(quarter.Next(Utc(2026, 1, 1, 10, 15, 30)), Utc(2026, 1, 1, 10, 30));
  EXPECT_EQ(Between(quarter, Utc(2026, 6, 1), Utc(2026, 6, 2)).size(), 96u);

  // Weekdays at 9:00: 2026-03-06 is a Friday.
  EXPECT_EQ(
      Take(MustParse("0 9 * * 1-5"), Utc(2026, 3, 6, 10), 3),
      (std::vector<absl::Time>{Utc(2026, 3, 9, 9), Utc(2026, 3, 10, 9), Utc(2026, 3, 11, 9)}));
  EXPECT_EQ(MustParse("0 9 * * 1-5").Next(Utc(2026, 3, 6, 8, 59)), Utc(2026, 3, 6, 9));

  // Monthly on the 31st skips the short months.
  EXPECT_EQ(Take(MustParse("0 0 31 * *"), Utc(2026, 1, 31), 6),
            (std::vector<absl::Time>{Utc(2026, 3, 31), Utc(2026, 5, 31), Utc(2026, 7, 31),
                                     Utc(2026, 8, 31), Utc(2026, 10, 31), Utc(2026, 12, 31)}));

  // Leap day.
  EXPECT_EQ(Take(MustParse("0 0 29 2 *"), Utc(2026, 1, 1), 3),
            (std::vector<absl::Time>{Utc(2028, 2, 29), Utc(2032, 2, 29), Utc(2036, 2, 29)}));
  // 2100 is not a leap year: the next leap day after 2096 is 8 years away, past the horizon.
  EXPECT_EQ(MustParse("0 0 29 2 *").Next(Utc(2096, 3, 1)), absl::InfiniteFuture());
  EXPECT_EQ(MustParse("0 0 29 2 *").Next(Utc(2099, 3, 1)), Utc(2104, 2, 29));
}

TEST(CronScheduleTest, ImpossibleSchedulesEndQuickly) {
  for (const char* expression :
       {"0 0 30 2 *", "0 0 31 4 *", "* * 31 2,4,6,9,11 *", "* * 30 feb *"}) {
    const CronSchedule schedule = MustParse(expression, "Europe/Berlin");
    // Many calls: each must skip months/days rather than walk minutes.
    for (int i = 0; i < 200; ++i) {
      ASSERT_EQ(schedule.Next(Utc(2026, 1, 1) + absl::Hours(i * 100)), absl::InfiniteFuture())
          << expression;
    }
  }
  EXPECT_EQ(MustParse("* * * * *").Next(absl::InfiniteFuture()), absl::InfiniteFuture());
}

// ---- Daylight saving time. 2026: US on 03-08 (02:00 EST -> 03:00 EDT) and 11-01 (02:00 EDT
// -> 01:00 EST); EU on 03-29 (02:00 CET -> 03:00 CEST, at 01:00 UTC) and 10-25 (03:00 CEST ->
// 02:00 CET, at 01:00 UTC).

constexpr int kEst = -5, kEdt = -4, kCet = 1, kCest = 2;

TEST(CronScheduleTest, NewYorkSpringForward) {
  const absl::Time transition = At(kEst, 2026, 3, 8, 2);  // == 03:00 EDT == 07:00 UTC
  ASSERT_EQ(transition, Utc(2026, 3, 8, 7));
  // 02:30 does not exist that day: it runs at the transition instant.
  const CronSchedule skipped = MustParse("30 2 * * *", "America/New_York");
  EXPECT_EQ(Take(skipped, At(kEst, 2026, 3, 7, 12), 3),
            (std::vector<absl::Time>{At(kEdt, 2026, 3, 8, 3, 0), At(kEdt, 2026, 3, 9, 2, 30),
                                     At(kEdt, 2026, 3, 10, 2, 30)}));
  EXPECT_EQ(skipped.Next(At(kEst, 2026, 3, 8, 1, 59)), transition);
  EXPECT_EQ(skipped.Next(transition), At(kEdt, 2026, 3, 9, 2, 30));
  // Several skipped matches, and the match at the end of the gap, run once.
  EXPECT_EQ(Take(MustParse("0,30 2,3 * * *", "America/New_York"), At(kEst, 2026, 3, 8, 1), 3),
            (std::vector<absl::Time>{transition, At(kEdt, 2026, 3, 8, 3, 30),
                                     At(kEdt, 2026, 3, 9, 2, 0)}));

  const absl::Time day = At(kEst, 2026, 3, 8, 0);
  const absl::Time next_day = At(kEdt, 2026, 3, 9, 0);
  ASSERT_EQ(next_day - day, absl::Hours(23));
  const std::vector<absl::Time> hourly =
      Between(MustParse("0 * * * *", "America/New_York"), day, next_day);
  ASSERT_EQ(hourly.size(), 23u);
  EXPECT_EQ(hourly[1], At(kEst, 2026, 3, 8, 1));
  EXPECT_EQ(hourly[2], transition);
  EXPECT_EQ(hourly[3], At(kEdt, 2026, 3, 8, 4));
  for (size_t i = 1; i < hourly.size(); ++i) EXPECT_EQ(hourly[i] - hourly[i - 1], absl::Hours(1));
  EXPECT_EQ(Between(MustParse("*/15 * * * *", "America/New_York"), day, next_day).size(), 23u * 4);

  // Daily 09:00 stays 09:00 local: 23 hours apart across the change.
  EXPECT_EQ(Take(MustParse("0 9 * * *", "America/New_York"), At(kEst, 2026, 3, 7, 0), 3),
            (std::vector<absl::Time>{At(kEst, 2026, 3, 7, 9), At(kEdt, 2026, 3, 8, 9),
                                     At(kEdt, 2026, 3, 9, 9)}));
  EXPECT_EQ(At(kEdt, 2026, 3, 8, 9) - At(kEst, 2026, 3, 7, 9), absl::Hours(23));
}

TEST(CronScheduleTest, NewYorkFallBack) {
  const absl::Time first = At(kEdt, 2026, 11, 1, 1, 30);   // 05:30 UTC
  const absl::Time second = At(kEst, 2026, 11, 1, 1, 30);  // 06:30 UTC
  ASSERT_EQ(second - first, absl::Hours(1));
  // A fixed-time 01:30 runs once, at the first instance.
  const CronSchedule fixed = MustParse("30 1 * * *", "America/New_York");
  EXPECT_EQ(
      Take(fixed, At(kEdt, 2026, 10, 31, 12), 3),
      (std::vector<absl::Time>{first, At(kEst, 2026, 11, 2, 1, 30), At(kEst, 2026, 11, 3, 1, 30)}));
  EXPECT_EQ(fixed.Next(first), At(kEst, 2026, 11, 2, 1, 30));
  // Whatever `after` lies in the repeated hour, the second instance is never returned.
  for (absl::Time after :
       {first - absl::Minutes(1), first, first + absl::Minutes(10), At(kEst, 2026, 11, 1, 1, 0),
        At(kEst, 2026, 11, 1, 1, 10), second - absl::Seconds(1), second}) {
    const absl::Time next = fixed.Next(after);
    EXPECT_NE(next, second);
    EXPECT_TRUE(next == first || next == At(kEst, 2026, 11, 2, 1, 30)) << after;
  }
  const absl::Time day = At(kEdt, 2026, 11, 1, 0);
  const absl::Time next_day = At(kEst, 2026, 11, 2, 0);
  ASSERT_EQ(next_day - day, absl::Hours(25));
  EXPECT_EQ(Between(fixed, day, next_day), std::vector<absl::Time>{first});

  // Hourly is a wildcard schedule: both 01:00s run, 25 occurrences, an hour apart.
  const std::vector<absl::Time> hourly =
      Between(MustParse("0 * * * *", "America/New_York"), day, next_day);
  ASSERT_EQ(hourly.size(), 25u);
  EXPECT_EQ(hourly[1], At(kEdt, 2026, 11, 1, 1));
  EXPECT_EQ(hourly[2], At(kEst, 2026, 11, 1, 1));
  EXPECT_EQ(hourly[3], At(kEst, 2026, 11, 1, 2));
  for (size_t i = 1; i < hourly.size(); ++i) EXPECT_EQ(hourly[i] - hourly[i - 1], absl::Hours(1));
  EXPECT_EQ(Between(MustParse("@hourly", "America/New_York"), day, next_day).size(), 25u);

  // Every 15 minutes keeps its rhythm through the repeated hour, also from inside it.
  const CronSchedule quarter = MustParse("*/15 * * * *", "America/New_York");
  EXPECT_EQ(Between(quarter, day, next_day).size(), 25u * 4);
  EXPECT_EQ(quarter.Next(At(kEdt, 2026, 11, 1, 1, 50)), At(kEst, 2026, 11, 1, 1, 0));
  EXPECT_EQ(quarter.Next(At(kEst, 2026, 11, 1, 1, 10)), At(kEst, 2026, 11, 1, 1, 15));
  EXPECT_EQ(quarter.Next(At(kEst, 2026, 11, 1, 1, 45)), At(kEst, 2026, 11, 1, 2, 0));
  // A wildcard minute in a fixed hour repeats with the hour (cronie): 01:xx twice.
  EXPECT_EQ(Between(MustParse("*/30 1 * * *", "America/New_York"), day, next_day),
            (std::vector<absl::Time>{At(kEdt, 2026, 11, 1, 1, 0), At(kEdt, 2026, 11, 1, 1, 30),
                                     At(kEst, 2026, 11, 1, 1, 0), At(kEst, 2026, 11, 1, 1, 30)}));

  // Daily 09:00 stays 09:00 local: 25 hours apart across the change.
  EXPECT_EQ(Take(MustParse("0 9 * * *", "America/New_York"), At(kEdt, 2026, 10, 31, 0), 3),
            (std::vector<absl::Time>{At(kEdt, 2026, 10, 31, 9), At(kEst, 2026, 11, 1, 9),
                                     At(kEst, 2026, 11, 2, 9)}));
  EXPECT_EQ(At(kEst, 2026, 11, 1, 9) - At(kEdt, 2026, 10, 31, 9), absl::Hours(25));
}

TEST(CronScheduleTest, BerlinSpringForward) {
  const absl::Time transition = At(kCet, 2026, 3, 29, 2);  // == 03:00 CEST == 01:00 UTC
  ASSERT_EQ(transition, Utc(2026, 3, 29, 1));
  const CronSchedule skipped = MustParse("30 2 * * *", "Europe/Berlin");
  EXPECT_EQ(Take(skipped, At(kCet, 2026, 3, 28, 3), 3),
            (std::vector<absl::Time>{transition, At(kCest, 2026, 3, 30, 2, 30),
                                     At(kCest, 2026, 3, 31, 2, 30)}));
  EXPECT_EQ(skipped.Next(At(kCet, 2026, 3, 28, 2, 30)), transition);

  const absl::Time day = At(kCet, 2026, 3, 29, 0);
  const absl::Time next_day = At(kCest, 2026, 3, 30, 0);
  ASSERT_EQ(next_day - day, absl::Hours(23));
  const std::vector<absl::Time> hourly =
      Between(MustParse("0 * * * *", "Europe/Berlin"), day, next_day);
  ASSERT_EQ(hourly.size(), 23u);
  EXPECT_EQ(hourly[2], transition);
  for (size_t i = 1; i < hourly.size(); ++i) EXPECT_EQ(hourly[i] - hourly[i - 1], absl::Hours(1));

  EXPECT_EQ(Take(MustParse("0 9 * * *", "Europe/Berlin"), At(kCet, 2026, 3, 28, 0), 3),
            (std::vector<absl::Time>{At(kCet, 2026, 3, 28, 9), At(kCest, 2026, 3, 29, 9),
                                     At(kCest, 2026, 3, 30, 9)}));
  EXPECT_EQ(At(kCest, 2026, 3, 29, 9) - At(kCet, 2026, 3, 28, 9), absl::Hours(23));
}

TEST(CronScheduleTest, BerlinFallBack) {
  const absl::Time first = At(kCest, 2026, 10, 25, 2, 30);  // 00:30 UTC
  const absl::Time second = At(kCet, 2026, 10, 25, 2, 30);  // 01:30 UTC
  ASSERT_EQ(first, Utc(2026, 10, 25, 0, 30));
  const CronSchedule fixed = MustParse("30 2 * * *", "Europe/Berlin");
  EXPECT_EQ(Take(fixed, At(kCest, 2026, 10, 24, 12), 3),
            (std::vector<absl::Time>{first, At(kCet, 2026, 10, 26, 2, 30),
                                     At(kCet, 2026, 10, 27, 2, 30)}));
  EXPECT_EQ(fixed.Next(first), At(kCet, 2026, 10, 26, 2, 30));
  EXPECT_EQ(fixed.Next(second - absl::Minutes(5)), At(kCet, 2026, 10, 26, 2, 30));

  const absl::Time day = At(kCest, 2026, 10, 25, 0);
  const absl::Time next_day = At(kCet, 2026, 10, 26, 0);
  ASSERT_EQ(next_day - day, absl::Hours(25));
  EXPECT_EQ(Between(fixed, day, next_day), std::vector<absl::Time>{first});
  const std::vector<absl::Time> hourly =
      Between(MustParse("0 * * * *", "Europe/Berlin"), day, next_day);
  ASSERT_EQ(hourly.size(), 25u);
  EXPECT_EQ(hourly[2], At(kCest, 2026, 10, 25, 2));
  EXPECT_EQ(hourly[3], At(kCet, 2026, 10, 25, 2));
  for (size_t i = 1; i < hourly.size(); ++i) EXPECT_EQ(hourly[i] - hourly[i - 1], absl::Hours(1));

  EXPECT_EQ(Take(MustParse("0 9 * * *", "Europe/Berlin"), At(kCest, 2026, 10, 24, 0), 3),
            (std::vector<absl::Time>{At(kCest, 2026, 10, 24, 9), At(kCet, 2026, 10, 25, 9),
                                     At(kCet, 2026, 10, 26, 9)}));
  EXPECT_EQ(At(kCet, 2026, 10, 25, 9) - At(kCest, 2026, 10, 24, 9), absl::Hours(25));
}

TEST(CronScheduleTest, NextNeverRepeatsAnInstantAcrossAYearOfChanges) {
  for (const char* zone : {"Europe/Berlin", "America/New_York"}) {
    for (const char* expression : {"30 1 * * *", "30 2 * * *", "0 * * * *", "*/20 * * * *"}) {
      const CronSchedule schedule = MustParse(expression, zone);
      absl::Time previous = Utc(2026, 1, 1);
      for (absl::Time t = schedule.Next(previous); t < Utc(2027, 1, 1); t = schedule.Next(t)) {
        ASSERT_GT(t, previous) << zone << " " << expression;
        previous = t;
      }
    }
  }
  // A year of a fixed-time daily schedule: one run per local day, DST or not.
  const CronSchedule daily = MustParse("30 2 * * *", "Europe/Berlin");
  EXPECT_EQ(Between(daily, Utc(2026, 1, 1), Utc(2027, 1, 1)).size(), 365u);
  const CronSchedule hourly = MustParse("0 * * * *", "America/New_York");
  // Real hours in 2026 in New York: one wall hour skipped, one repeated, so exactly 8760.
  EXPECT_EQ(Between(hourly, At(kEst, 2026, 1, 1, 0), At(kEst, 2027, 1, 1, 0)).size(), 8760u);
}

}  // namespace
}  // namespace flowmonkey
