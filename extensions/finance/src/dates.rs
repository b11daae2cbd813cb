//! Dates as receipts write them: ISO, US and European numeric, long and
//! short month names in several languages, weekday first, ordinals.

use std::sync::LazyLock;

use regex::Regex;

/// A calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    /// Year, four digits.
    pub year: i32,
    /// 1 to 12.
    pub month: u32,
    /// 1 to 31.
    pub day: u32,
}

impl Date {
    /// A valid date, or `None`.
    pub fn new(year: i32, month: u32, day: u32) -> Option<Self> {
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        ((1900..=2200).contains(&year) && (1..=days).contains(&day)).then_some(Self { year, month, day })
    }

    /// `YYYY-MM-DD`.
    pub fn iso(&self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }

    /// Parses `YYYY-MM-DD`.
    pub fn parse_iso(s: &str) -> Option<Self> {
        let mut it = s.trim().splitn(3, '-');
        let y = it.next()?.parse().ok()?;
        let m = it.next()?.parse().ok()?;
        let d = it.next()?.get(..2)?.parse().ok()?;
        Self::new(y, m, d)
    }

    /// Days since 1970-01-01 (for distances between dates).
    pub fn days(&self) -> i64 {
        // Howard Hinnant's days_from_civil.
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let mp = (i64::from(self.month) + 9) % 12;
        let doy = (153 * mp + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }
}

/// How to read an ambiguous numeric date such as `03/04/2026`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Month first (United States).
    MonthFirst,
    /// Day first (most of the world).
    DayFirst,
}

/// Month names and abbreviations: English, German, French, Spanish,
/// Italian, Dutch, Portuguese, Swedish, Polish (genitive), Malay.
const MONTHS: &[(&str, u32)] = &[
    ("january", 1),
    ("february", 2),
    ("march", 3),
    ("april", 4),
    ("may", 5),
    ("june", 6),
    ("july", 7),
    ("august", 8),
    ("september", 9),
    ("october", 10),
    ("november", 11),
    ("december", 12),
    ("sept", 9),
    ("januar", 1),
    ("februar", 2),
    ("märz", 3),
    ("maerz", 3),
    ("mär", 3),
    ("juni", 6),
    ("juli", 7),
    ("oktober", 10),
    ("okt", 10),
    ("dezember", 12),
    ("dez", 12),
    ("janvier", 1),
    ("février", 2),
    ("fevrier", 2),
    ("mars", 3),
    ("avril", 4),
    ("mai", 5),
    ("juin", 6),
    ("juillet", 7),
    ("août", 8),
    ("aout", 8),
    ("septembre", 9),
    ("octobre", 10),
    ("novembre", 11),
    ("décembre", 12),
    ("decembre", 12),
    ("janv", 1),
    ("févr", 2),
    ("fevr", 2),
    ("avr", 4),
    ("juil", 7),
    ("déc", 12),
    ("enero", 1),
    ("febrero", 2),
    ("marzo", 3),
    ("abril", 4),
    ("mayo", 5),
    ("junio", 6),
    ("julio", 7),
    ("agosto", 8),
    ("septiembre", 9),
    ("setiembre", 9),
    ("octubre", 10),
    ("noviembre", 11),
    ("diciembre", 12),
    ("ene", 1),
    ("dic", 12),
    ("gennaio", 1),
    ("febbraio", 2),
    ("aprile", 4),
    ("maggio", 5),
    ("giugno", 6),
    ("luglio", 7),
    ("settembre", 9),
    ("ottobre", 10),
    ("dicembre", 12),
    ("gen", 1),
    ("mag", 5),
    ("giu", 6),
    ("lug", 7),
    ("ago", 8),
    ("set", 9),
    ("ott", 10),
    ("januari", 1),
    ("februari", 2),
    ("maart", 3),
    ("mei", 5),
    ("augustus", 8),
    ("janeiro", 1),
    ("fevereiro", 2),
    ("março", 3),
    ("maio", 5),
    ("junho", 6),
    ("julho", 7),
    ("setembro", 9),
    ("outubro", 10),
    ("novembro", 11),
    ("dezembro", 12),
    ("augusti", 8),
    ("stycznia", 1),
    ("lutego", 2),
    ("marca", 3),
    ("kwietnia", 4),
    ("maja", 5),
    ("czerwca", 6),
    ("lipca", 7),
    ("sierpnia", 8),
    ("września", 9),
    ("wrzesnia", 9),
    ("października", 10),
    ("pazdziernika", 10),
    ("listopada", 11),
    ("grudnia", 12),
    ("mac", 3),
    ("julai", 7),
    ("ogos", 8),
    ("disember", 12),
    ("dis", 12),
    ("jan", 1),
    ("feb", 2),
    ("mar", 3),
    ("apr", 4),
    ("jun", 6),
    ("jul", 7),
    ("aug", 8),
    ("sep", 9),
    ("oct", 10),
    ("nov", 11),
    ("dec", 12),
];

fn month_named(word: &str) -> Option<u32> {
    let w = word.trim_end_matches('.').to_lowercase();
    MONTHS.iter().find(|(name, _)| *name == w).map(|(_, m)| *m)
}

const MONTH_WORD: &str = r"\p{L}{3,12}\.?";

// A date may run into the next word where OCR lost a space
// (`27/03/2018Time`, `27/03/201814:22`), hence a letter or a time after it
// as well as a word boundary.
static ISO: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::unwrap_used)] // constant pattern
    Regex::new(r"\b(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:\b|[A-Za-z])").unwrap()
});
static NUMERIC: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::unwrap_used)] // constant pattern
    Regex::new(r"\b(\d{1,2}) ?([-/.,]) ?(\d{1,2}) ?([-/.,]) ?(\d{4}|\d{2})(?:\b|[A-Za-z]|\d{1,2}:\d{2})").unwrap()
});
static DAY_MONTH: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::unwrap_used)] // constant pattern
    Regex::new(&format!(
        r"\b(\d{{1,2}})(?:st|nd|rd|th|er|º)?\.?(?:\s+de)?[\s\-/]*({MONTH_WORD})(?:\s+de)?[\s\-/,]*(\d{{4}}|\d{{2}})\b"
    ))
    .unwrap()
});
static MONTH_DAY: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::unwrap_used)] // constant pattern
    Regex::new(&format!(r"\b({MONTH_WORD})[\s\-]+(\d{{1,2}})(?:st|nd|rd|th)?,?[\s\-]+(\d{{4}})\b")).unwrap()
});

fn full_year(y: &str) -> Option<i32> {
    let n: i32 = y.parse().ok()?;
    Some(if y.len() == 2 { 2000 + n } else { n })
}

/// A numeric date as written: its two separators and its numbers, the
/// first two in the order they stand.
struct Numeric<'a> {
    sep1: &'a str,
    sep2: &'a str,
    a: u32,
    b: u32,
    year: i32,
    long_year: bool,
}

impl<'a> Numeric<'a> {
    /// The parts of a match of `NUMERIC`.
    fn parse(c: &regex::Captures<'a>) -> Option<Self> {
        let text = |i: usize| c.get(i).map_or("", |g| g.as_str());
        Some(Numeric {
            sep1: text(2),
            sep2: text(4),
            a: text(1).parse().ok()?,
            b: text(3).parse().ok()?,
            year: full_year(text(5))?,
            long_year: text(5).len() == 4,
        })
    }

    /// The date read month first, and read day first.
    fn readings(&self) -> (Option<Date>, Option<Date>) {
        (Date::new(self.year, self.a, self.b), Date::new(self.year, self.b, self.a))
    }
}

/// How a document writes its numeric dates, where it says so itself: a
/// date with a slash or a dash that reads only one way (`11/17/2017` is
/// month first, `27/03/2018` day first), with no date that reads only the
/// other way. Dotted dates are day first wherever they are written, and
/// say nothing about the others.
pub fn written_order<'a>(lines: impl IntoIterator<Item = &'a str>) -> Option<Order> {
    let (mut month_first, mut day_first) = (0, 0);
    for line in lines {
        for n in NUMERIC.captures_iter(line).filter_map(|c| Numeric::parse(&c)) {
            // A year outside any purchase is a code or a misreading.
            if n.sep1 == "." || n.sep1 == "," || n.sep2 != n.sep1 || !(1990..=2100).contains(&n.year) {
                continue;
            }
            match n.readings() {
                (Some(_), None) => month_first += 1,
                (None, Some(_)) => day_first += 1,
                _ => {}
            }
        }
    }
    match (month_first, day_first) {
        (1.., 0) => Some(Order::MonthFirst),
        (0, 1..) => Some(Order::DayFirst),
        _ => None,
    }
}

/// Every date written in `line`, left to right, each with its byte offset.
/// A numeric date that reads both ways comes in the reading `order` picks;
/// `near`, when given, picks the reading closest to it instead.
pub fn dates_in(line: &str, order: Order, near: Option<Date>) -> Vec<(usize, Date)> {
    let mut found: Vec<(usize, Date)> = Vec::new();
    let mut taken: Vec<(usize, usize)> = Vec::new();
    let free = |taken: &Vec<(usize, usize)>, s: usize, e: usize| taken.iter().all(|&(a, b)| e <= a || s >= b);
    for c in ISO.captures_iter(line) {
        let m = c.get(0).map_or((0, 0), |m| (m.start(), m.end()));
        let parse = |i: usize| c.get(i).and_then(|g| g.as_str().parse::<u32>().ok());
        if let (Some(y), Some(mo), Some(d)) = (parse(1), parse(2), parse(3))
            && let Some(date) = Date::new(y as i32, mo, d)
        {
            found.push((m.0, date));
            taken.push(m);
        }
    }
    // Named months: day first ("14 March 2026") or month first ("March 14,
    // 2026"); the groups give (day, month, year) in each pattern's order.
    for (re, [d, mo, y]) in [(&*DAY_MONTH, [1, 2, 3]), (&*MONTH_DAY, [2, 1, 3])] {
        for c in re.captures_iter(line) {
            let m = c.get(0).map_or((0, 0), |m| (m.start(), m.end()));
            let day = c.get(d).and_then(|g| g.as_str().parse().ok());
            let month = c.get(mo).and_then(|g| month_named(g.as_str()));
            let year = c.get(y).and_then(|g| full_year(g.as_str()));
            if free(&taken, m.0, m.1)
                && let (Some(d), Some(mo), Some(y)) = (day, month, year)
                && let Some(date) = Date::new(y, mo, d)
            {
                found.push((m.0, date));
                taken.push(m);
            }
        }
    }
    for c in NUMERIC.captures_iter(line) {
        let m = c.get(0).map_or((0, 0), |m| (m.start(), m.end()));
        let Some(n) = Numeric::parse(&c) else { continue };
        // Both separators alike; OCR reads one dot as a comma (the first
        // only before a year of four digits: `19, 05 .2020`).
        let (sep1, sep2) = (n.sep1, n.sep2);
        if !free(&taken, m.0, m.1)
            || !(sep1 == sep2 && sep1 != "," || sep1 == "." && sep2 == "," || sep1 == "," && sep2 == "." && n.long_year)
        {
            continue;
        }
        // `19.05, 16:04`: a day and month, then the time, not a year.
        if !n.long_year && line[m.1..].trim_start().starts_with(':') {
            continue;
        }
        let dotted = sep1 == ".";
        let pick = match n.readings() {
            (Some(mf), Some(df)) if mf != df => match near {
                Some(n) => {
                    if (mf.days() - n.days()).abs() <= (df.days() - n.days()).abs() {
                        mf
                    } else {
                        df
                    }
                }
                None if dotted || order == Order::DayFirst => df,
                None => mf,
            },
            (Some(d), _) | (None, Some(d)) => d,
            (None, None) => continue,
        };
        found.push((m.0, pick));
        taken.push(m);
    }
    found.sort_by_key(|(at, _)| *at);
    found
}

/// Reads an RFC 2822 email `Date:` header (`Tue, 3 Mar 2026 10:00:00 +0000`).
pub fn email_date(header: &str) -> Option<Date> {
    dates_in(header, Order::DayFirst, None).first().map(|(_, d)| *d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first(s: &str, order: Order) -> String {
        dates_in(s, order, None).first().map(|(_, d)| d.iso()).unwrap_or_default()
    }

    #[test]
    fn formats() {
        let us = Order::MonthFirst;
        let eu = Order::DayFirst;
        assert_eq!(first("Date: 2026-03-14 12:01", us), "2026-03-14");
        assert_eq!(first("03/14/2026", us), "2026-03-14");
        assert_eq!(first("14/03/2026", us), "2026-03-14");
        assert_eq!(first("04/03/2026", eu), "2026-03-04");
        assert_eq!(first("04/03/2026", us), "2026-04-03");
        assert_eq!(first("14.03.26", eu), "2026-03-14");
        assert_eq!(first("Saturday, March 14, 2026", us), "2026-03-14");
        assert_eq!(first("Sat 14 Mar 2026", us), "2026-03-14");
        assert_eq!(first("14th March 2026", us), "2026-03-14");
        assert_eq!(first("Mar 4th, 2026 7:02 PM", us), "2026-03-04");
        assert_eq!(first("14. März 2026", eu), "2026-03-14");
        assert_eq!(first("14 de marzo de 2026", eu), "2026-03-14");
        assert_eq!(first("14-Mar-26", eu), "2026-03-14");
        assert_eq!(first("le 3 janv. 2026", eu), "2026-01-03");
        assert_eq!(first("15 czerwca 2021", eu), "2021-06-15");
        // Tills that print the month's name between the numbers, no spaces.
        assert_eq!(first("Date 12JAN2018 10:22", eu), "2018-01-12");
        assert_eq!(first("05MAR18", eu), "2018-03-05");
        assert_eq!(first("3 października 2021", eu), "2021-10-03");
        assert_eq!(first("05 MAR 2018", eu), "2018-03-05");
        assert_eq!(first("05 Disember 2017", eu), "2017-12-05");
        assert_eq!(first("27-03-18 10:15", eu), "2018-03-27");
        // As OCR spaces and misreads separators.
        assert_eq!(first("Datum: 04.04. 2020", eu), "2020-04-04");
        assert_eq!(first("Datum: 19.05, 2020", eu), "2020-05-19");
        assert_eq!(first("129362 19, 05 .2020 16: 04", eu), "2020-05-19");
        // A time OCR ran into the year.
        assert_eq!(first("Date: 27/03/201814:22", eu), "2018-03-27");
        assert_eq!(first("27.03.20189:05", eu), "2018-03-27");
        // A day and month before the time have no year.
        assert_eq!(first("AS-Zeit 19.05, 16:04 Uhr", eu), "");
        assert_eq!(first("Summe 12,50 EUR", eu), "");
        assert_eq!(email_date("Tue, 3 Mar 2026 10:00:00 +0000").map(|d| d.iso()).unwrap_or_default(), "2026-03-03");
    }

    #[test]
    fn a_date_that_reads_one_way_tells_the_order() {
        assert_eq!(written_order(["Invoice Date 11/03/2019", "Paid 11/17/2019"]), Some(Order::MonthFirst));
        assert_eq!(written_order(["27/03/2018 10:15"]), Some(Order::DayFirst));
        // Dotted dates are day first anywhere; both ways at once say nothing.
        assert_eq!(written_order(["14.03.2026"]), None);
        assert_eq!(written_order(["11/17/2019", "27/03/2018"]), None);
    }

    #[test]
    fn near_decides() {
        let near = Date::new(2026, 4, 3);
        assert_eq!(dates_in("04/03/2026", Order::DayFirst, near)[0].1.iso(), "2026-04-03");
    }
}
