//! Kubernetes resource quantities (`500m`, `5Gi`, `1e3`): the grammar of
//! `k8s.io/apimachinery/pkg/api/resource`, parsed to a value that can be compared.

use std::fmt;

/// A parsed quantity, held exactly in billionths of the base unit (Kubernetes' own finest
/// scale, `1n`), so that `1Gi` and `1073741824` are equal and a request one byte above its
/// limit compares as larger: as floats, `5368709121` and `5Gi` would be the same number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Quantity {
    nanos: i128,
}

/// Billionths per base unit.
const NANOS_PER_UNIT: i128 = 1_000_000_000;

/// Why a string is not a quantity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotAQuantity(pub String);

impl fmt::Display for NotAQuantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
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
        let out_of_range = || NotAQuantity("number out of range".into());
        // digits × 10^(exponent − fraction digits) × 1024^binary, in billionths.
        let digits = format!("{whole}{fraction}");
        let digits = digits.trim_start_matches('0');
        let mantissa: i128 = if digits.is_empty() {
            0
        } else {
            digits.parse().map_err(|_| out_of_range())?
        };
        let fraction_len = i32::try_from(fraction.len()).map_err(|_| out_of_range())?;
        let scale = decimal_exponent
            .checked_sub(fraction_len)
            .and_then(|e| e.checked_add(9))
            .ok_or_else(out_of_range)?;
        let scaled = if scale >= 0 {
            let factor = 10i128
                .checked_pow(scale.unsigned_abs())
                .ok_or_else(out_of_range)?;
            mantissa.checked_mul(factor).ok_or_else(out_of_range)?
        } else {
            let divisor = 10i128.checked_pow(scale.unsigned_abs());
            match divisor {
                Some(divisor) if mantissa % divisor == 0 => mantissa / divisor,
                _ if mantissa == 0 => 0,
                _ => return Err(NotAQuantity("finer than a billionth (1n)".into())),
            }
        };
        let binary = 1024i128
            .checked_pow(binary_exponent.unsigned_abs())
            .ok_or_else(out_of_range)?;
        let nanos = scaled.checked_mul(binary).ok_or_else(out_of_range)?;
        Ok(Quantity {
            nanos: if negative { -nanos } else { nanos },
        })
    }

    /// A quantity of `units` base units (bytes, cores).
    pub fn units(units: i64) -> Quantity {
        Quantity {
            nanos: i128::from(units) * NANOS_PER_UNIT,
        }
    }

    /// The whole base units (bytes, cores) it holds, rounded down: a fraction of a byte is
    /// not addressable.
    pub fn whole_units(self) -> i128 {
        self.nanos.div_euclid(NANOS_PER_UNIT)
    }

    /// Below zero.
    pub fn is_negative(self) -> bool {
        self.nanos < 0
    }

    /// A whole number of base units: `1m` of storage or memory is a thousandth of a byte.
    pub fn is_whole(self) -> bool {
        self.nanos % NANOS_PER_UNIT == 0
    }
}

/// A memory quantity in whole bytes; 0 for one that does not parse (validation reports it).
pub fn bytes(quantity: &str) -> u64 {
    Quantity::parse(quantity).map_or(0, |q| {
        u64::try_from(q.whole_units().max(0)).unwrap_or(u64::MAX)
    })
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

    fn q(text: &str) -> Quantity {
        match Quantity::parse(text) {
            Ok(quantity) => quantity,
            Err(e) => panic!("{text}: {e}"),
        }
    }

    fn units(n: i64) -> Quantity {
        Quantity::units(n)
    }

    #[test]
    fn decimal_binary_and_milli_units() {
        assert_eq!(q("5Gi"), units(5 * 1024 * 1024 * 1024));
        assert_eq!(q("5G"), units(5_000_000_000));
        assert_eq!(q("5000M"), q("5G"));
        assert_eq!(q("100m"), q("0.1"));
        assert_eq!(q("1"), units(1));
        assert_eq!(q("1k"), units(1000));
        assert_eq!(q("1Ki"), units(1024));
        assert_eq!(q("2Ei"), units(2 << 60));
        assert_eq!(q("1.5Gi"), units(3 << 29));
        assert_eq!(q(".5"), q("500m"));
        assert_eq!(q("5."), units(5));
        assert_eq!(q("+3"), units(3));
        assert_eq!(q("-3"), units(-3));
        assert!(q("-3").is_negative());
    }

    #[test]
    fn exponent_forms() {
        assert_eq!(q("1e3"), units(1000));
        assert_eq!(q("1E3"), units(1000));
        assert_eq!(q("12e-1"), q("1.2"));
        assert_eq!(q("1e+2"), units(100));
        assert_eq!(q("1e-9"), q("0.000000001"));
    }

    #[test]
    fn equal_values_written_differently_compare_equal() {
        assert_eq!(q("0.1"), q("100m"));
        assert_eq!(q("1e-1"), q("100m"));
        assert_eq!(q("1Gi"), q("1073741824"));
        assert_eq!(q("1k"), q("1e3"));
        assert!(q("1Gi") > q("1G"));
        assert!(q("500m") < q("1"));
    }

    #[test]
    fn one_byte_apart_is_not_equal() {
        // As f64 these two are the same number; exactly, the first is one byte larger.
        assert!(q("5368709121") > q("5Gi"));
        assert!(q("9007199254740993") > q("9007199254740992"));
        assert!(q("1") > q("0.999999999"));
    }

    #[test]
    fn whole_units_and_precision() {
        assert!(q("5Gi").is_whole());
        assert!(!q("1m").is_whole());
        assert!(!q("1.5").is_whole());
        assert!(!q("1500m").is_whole());
        assert!(q("2000m").is_whole());
        assert!(Quantity::parse("1e-10").is_err());
        assert!(Quantity::parse("1e40").is_err());
        assert_eq!(q("0.0000000000e5"), units(0));
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
