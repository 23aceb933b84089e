//! The notes' console line, character for character.
//!
//! The notes print
//! `f'{phase} loss is {loss:{5}.{2}} and {phase} accuracy is {running_correct}/{len(data_loader.dataset)}{accuracy:{10}.{4}}'`.
//! `{x:{5}.{2}}` is Python's format spec `5.2` with no type letter: two *significant* digits, in a field
//! five wide, fixed-point unless the exponent is large or small, trailing zeros dropped but at least one
//! digit after the point. Rust's `{:5.2}` means two digits after the point, which prints `0.52` as
//! ` 0.52` but `1.2345` as ` 1.23` where Python prints `  1.2` — so we format it ourselves.

use super::history::EpochStats;

/// Formats `x` like Python's `format(x, f'{width}.{precision}')` (no presentation type).
pub fn python_general(x: f64, width: usize, precision: usize) -> String {
    let body = python_general_body(x, precision.max(1));
    format!("{body:>width$}")
}

fn python_general_body(x: f64, precision: usize) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0.0".into() } else { "0.0".into() };
    }
    // Round to `precision` significant digits first: the exponent is the one of the rounded value
    // (Python prints 9.96 with precision 2 as 1e+01).
    let sci = format!("{:.*e}", precision - 1, x); // e.g. "9.3e1"
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    // Python switches to the exponent one digit earlier than 'g' does, because the '.0' it appends to
    // fixed-point output must still fit in `precision` digits (CPython's Py_DTSF_ADD_DOT_0).
    if exp < -4 || exp >= precision as i32 - 1 {
        let mantissa = strip_zeros(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    } else {
        let decimals = (precision as i32 - 1 - exp).max(0) as usize;
        let fixed = format!("{x:.decimals$}");
        let fixed = strip_zeros(&fixed);
        if fixed.contains('.') { fixed } else { format!("{fixed}.0") }
    }
}

fn strip_zeros(s: &str) -> String {
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s.to_string() }
}

/// The notes' line for one pass, e.g.
/// `training loss is  0.52 and training accuracy is 7461/8000     93.26`.
pub fn notes_line(stats: &EpochStats) -> String {
    let phase = stats.phase.name();
    format!(
        "{phase} loss is {} and {phase} accuracy is {}/{}{}",
        python_general(stats.loss as f64, 5, 2),
        stats.correct,
        stats.total,
        python_general(stats.accuracy() as f64, 10, 4),
    )
}

/// The notes' line followed by the pass's wall-clock time.
pub fn notes_line_timed(stats: &EpochStats) -> String {
    format!("{}  ({:.1}s)", notes_line(stats), stats.seconds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::Phase;

    #[test]
    fn matches_python_general_format() {
        // Expected strings printed by CPython 3.11: format(x, '5.2') and format(x, '10.4').
        let cases: [(f64, usize, usize, &str); 19] = [
            (0.5234, 5, 2, " 0.52"),
            (1.2345, 5, 2, "  1.2"),
            (0.04567, 5, 2, "0.046"),
            (0.5, 5, 2, "  0.5"),
            (2.0, 5, 2, "  2.0"),
            (9.96, 5, 2, "1e+01"),
            (12.3, 5, 2, "1.2e+01"),
            (0.00001234, 5, 2, "1.2e-05"),
            (93.2625, 10, 4, "     93.26"),
            (100.0, 10, 4, "     100.0"),
            (93.0, 10, 4, "      93.0"),
            (7.5, 10, 4, "       7.5"),
            (99.99999, 10, 4, "     100.0"),
            (0.0, 5, 2, "  0.0"),
            (1000.0, 10, 4, "     1e+03"),
            (999.9, 10, 4, "     999.9"),
            (0.0001234, 5, 2, "0.00012"),
            (2.0, 0, 1, "2e+00"),
            (0.5, 0, 1, "0.5"),
        ];
        for (x, w, p, want) in cases {
            assert_eq!(python_general(x, w, p), want, "format({x}, '{w}.{p}')");
        }
    }

    #[test]
    fn prints_the_notes_line() {
        let stats = EpochStats {
            epoch: 1,
            phase: Phase::Training,
            loss: 0.5234,
            correct: 7461,
            total: 8000,
            seconds: 3.21,
        };
        assert_eq!(notes_line(&stats), "training loss is  0.52 and training accuracy is 7461/8000     93.26");
        assert!(notes_line_timed(&stats).ends_with("93.26  (3.2s)"));
        let val = EpochStats { phase: Phase::Validation, correct: 1900, total: 2000, loss: 0.17, ..stats };
        assert_eq!(
            notes_line(&val),
            "validation loss is  0.17 and validation accuracy is 1900/2000      95.0"
        );
    }
}
