//! Calendar dates written `YYYY-MM-DD` (ISO 8601), as dates of birth are
//! in the key-only identity category and in information demands. Each
//! caller words its own message and sets its own plausible range.

/// Why text is not a calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateProblem {
    /// Not ten characters `DDDD-DD-DD`.
    Shape,
    /// A month outside `01..=12`.
    Month(u32),
    /// A day the month does not have (29 February only in leap years).
    Day(u32),
}

/// The year, month and day of `text`, if it is a date that exists.
///
/// # Errors
/// [`DateProblem`] saying what is wrong.
pub fn calendar_date(text: &str) -> Result<(u32, u32, u32), DateProblem> {
    let b = text.as_bytes();
    let shaped = b.len() == 10 && b[4] == b'-' && b[7] == b'-' && b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shaped {
        return Err(DateProblem::Shape);
    }
    // The shape check guarantees these parse: ten bytes, digits where read.
    let number = |r: std::ops::Range<usize>| text[r].parse::<u32>().unwrap_or(0);
    let (year, month, day) = (number(0..4), number(5..7), number(8..10));
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return Err(DateProblem::Month(month)),
    };
    if day == 0 || day > days {
        return Err(DateProblem::Day(day));
    }
    Ok((year, month, day))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_dates_that_exist_are_dates() {
        assert_eq!(calendar_date("2000-02-29"), Ok((2000, 2, 29)));
        assert_eq!(calendar_date("1900-02-29"), Err(DateProblem::Day(29)));
        assert_eq!(calendar_date("2023-13-01"), Err(DateProblem::Month(13)));
        assert_eq!(calendar_date("2023-04-31"), Err(DateProblem::Day(31)));
        assert_eq!(calendar_date("2023-04-00"), Err(DateProblem::Day(0)));
        for bad in ["2023-4-01", "20230401", "2023-04-01 ", "２０２３-04-01", "2023/04/01", ""] {
            assert_eq!(calendar_date(bad), Err(DateProblem::Shape), "{bad}");
        }
    }
}
