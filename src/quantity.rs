//! Kubernetes resource quantities (`500m`, `5Gi`, `1e3`): the grammar of
//! `k8s.io/apimachinery/pkg/api/resource`, parsed to a value that can be compared.

use std::cmp::Ordering;
use std::fmt;

/// A parsed quantity. Only the value is kept: `1Gi` and `1073741824` are equal.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quantity(f64);

/// Why a string is not a quantity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotAQuantity(pub String);

impl fmt::Display for NotAQuantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialOrd for Quantity {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        self.0.partial_cmp(&other.0)
    }
}

impl Quantity {
    /// Parse `<sign><digits>[.<digits>]<suffix>`, where the suffix is a binary SI unit (`Ki` …
    /// `Ei`), a decimal SI unit (`m`, none, `k`, `M` … `E`) or a decimal exponent (`e3`, `E-2`).
    /// Anything else (`5GB`, `5 Gi`, `5gi`, `1.5.2`) is rejected, as the API server would.
    pub fn parse(text: &str) -> Result<Quantity, NotAQuantity> {
        let (negative, unsigned) = match text.as_bytes().first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            _ => (false, text),
        };
        let number_len = unsigned
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(unsigned.len());
        let (number, suffix) = unsigned.split_at(number_len);
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        if whole.is_empty() && fraction.is_empty() {
            return Err(NotAQuantity("no number".into()));
        }
        if fraction.contains('.') {
            return Err(NotAQuantity("more than one decimal point".into()));
        }
        let (decimal_exponent, binary_exponent) = suffix_exponents(suffix)?;
        // Build the decimal text once so the value is rounded once, however it is written:
        // `0.1`, `100m` and `1e-1` then compare equal.
        let decimal = format!(
            "{}{whole}.{fraction}0e{decimal_exponent}",
            if negative { "-" } else { "" }
        );
        let value = decimal
            .parse::<f64>()
            .map_err(|_| NotAQuantity("number out of range".into()))?;
        let value = value * 1024f64.powi(binary_exponent);
        if value.is_finite() {
            Ok(Quantity(value))
        } else {
            Err(NotAQuantity("number out of range".into()))
        }
    }

    /// The value in base units (bytes, cores).
    pub fn value(self) -> f64 {
        self.0
    }
}

/// (power of ten, power of 1024) that a suffix stands for.
fn suffix_exponents(suffix: &str) -> Result<(i32, i32), NotAQuantity> {
    let units = match suffix {
        "" => (0, 0),
        "m" => (-3, 0),
        "k" => (3, 0),
        "M" => (6, 0),
        "G" => (9, 0),
        "T" => (12, 0),
        "P" => (15, 0),
        "E" => (18, 0),
        "Ki" => (0, 1),
        "Mi" => (0, 2),
        "Gi" => (0, 3),
        "Ti" => (0, 4),
        "Pi" => (0, 5),
        "Ei" => (0, 6),
        _ => return decimal_exponent(suffix).map(|e| (e, 0)),
    };
    Ok(units)
}

/// `e<signed integer>` or `E<signed integer>`.
fn decimal_exponent(suffix: &str) -> Result<i32, NotAQuantity> {
    let unknown = || NotAQuantity(format!("unknown unit `{suffix}`"));
    let exponent = suffix
        .strip_prefix('e')
        .or_else(|| suffix.strip_prefix('E'))
        .ok_or_else(unknown)?;
    let digits = exponent.trim_start_matches(['+', '-']);
    if digits.is_empty()
        || !digits.bytes().all(|b| b.is_ascii_digit())
        || exponent.len() - digits.len() > 1
    {
        return Err(unknown());
    }
    exponent.parse::<i32>().map_err(|_| unknown())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(text: &str) -> f64 {
        match Quantity::parse(text) {
            Ok(quantity) => quantity.value(),
            Err(e) => panic!("{text}: {e}"),
        }
    }

    #[test]
    fn decimal_binary_and_milli_units() {
        assert_eq!(q("5Gi"), 5.0 * 1024.0 * 1024.0 * 1024.0);
        assert_eq!(q("5G"), 5e9);
        assert_eq!(q("5000M"), 5e9);
        assert_eq!(q("100m"), 0.1);
        assert_eq!(q("1"), 1.0);
        assert_eq!(q("1k"), 1000.0);
        assert_eq!(q("1Ki"), 1024.0);
        assert_eq!(q("2Ei"), 2.0 * 1024f64.powi(6));
        assert_eq!(q("1.5Gi"), 1.5 * 1024f64.powi(3));
        assert_eq!(q(".5"), 0.5);
        assert_eq!(q("5."), 5.0);
        assert_eq!(q("+3"), 3.0);
        assert_eq!(q("-3"), -3.0);
    }

    #[test]
    fn exponent_forms() {
        assert_eq!(q("1e3"), 1000.0);
        assert_eq!(q("1E3"), 1000.0);
        assert_eq!(q("12e-1"), 1.2);
        assert_eq!(q("1e+2"), 100.0);
    }

    #[test]
    fn equal_values_written_differently_compare_equal() {
        assert_eq!(q("0.1"), q("100m"));
        assert_eq!(q("1e-1"), q("100m"));
        assert_eq!(q("1Gi"), q("1073741824"));
        assert_eq!(q("1k"), q("1e3"));
        assert!(Quantity::parse("1Gi").ok() > Quantity::parse("1G").ok());
        assert!(Quantity::parse("500m").ok() < Quantity::parse("1").ok());
    }

    #[test]
    fn rejects_what_the_api_server_rejects() {
        for bad in [
            "", "5GB", "5gi", "5 Gi", " 5Gi", "Gi", "1.2.3", "e3", "1e", "1e+-3", "1ee3", "--1",
            "5Gi ", "0x10", "1,5", "m", "1Kb", "1mi",
        ] {
            assert!(Quantity::parse(bad).is_err(), "{bad:?} parsed");
        }
    }
}
