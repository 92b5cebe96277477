//! One benchmark figure beside its reference, and the line `bench/run.sh` collects:
//! `FIGURE\t<id>\t<what>\t<value>\t<reference>\t<ratio>\t<target>\t<met>` (tab-separated;
//! the script turns the lines into the Markdown table of `bench/RESULTS.md`).

/// A measured figure and how it compares with its target.
#[derive(Debug, Clone)]
pub struct Figure {
    /// Short id, e.g. `2a`.
    pub id: String,
    /// What was measured, with the conditions (count, connections).
    pub what: String,
    /// The figure, formatted with its unit.
    pub value: String,
    /// The reference measured in the same run, formatted with its unit (or `—`).
    pub reference: String,
    /// value / reference (or `—`).
    pub ratio: String,
    /// The target, in words.
    pub target: String,
    /// Whether the target is met.
    pub met: bool,
}

impl Figure {
    /// A rate figure beside a rate reference: met when the ratio is at least `min_ratio` and
    /// the value at least `min_value` (0 for none).
    pub fn rate_vs(
        id: &str,
        what: &str,
        value: f64,
        reference: f64,
        unit: &str,
        min_value: f64,
        min_ratio: f64,
    ) -> Figure {
        let ratio = if reference > 0.0 {
            value / reference
        } else {
            0.0
        };
        let target = if min_value > 0.0 {
            format!("≥ {} {unit} and ≥ {min_ratio}×", group(min_value))
        } else {
            format!("≥ {min_ratio}×")
        };
        Figure {
            id: id.into(),
            what: what.into(),
            value: format!("{} {unit}", group(value)),
            reference: format!("{} {unit}", group(reference)),
            ratio: format!("{ratio:.2}×"),
            target,
            met: value >= min_value && ratio >= min_ratio,
        }
    }

    /// Prints the `FIGURE` line on stdout (and a readable line on stderr).
    pub fn print(&self) {
        eprintln!(
            "==> {} {}: {} vs {} = {} (target {}: {})",
            self.id,
            self.what,
            self.value,
            self.reference,
            self.ratio,
            self.target,
            if self.met { "met" } else { "NOT met" }
        );
        println!(
            "FIGURE\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            self.id,
            self.what,
            self.value,
            self.reference,
            self.ratio,
            self.target,
            if self.met { "yes" } else { "no" }
        );
    }
}

/// A number rounded to an integer with thin thousands separators (`12,345`); small numbers
/// keep one decimal.
pub fn group(v: f64) -> String {
    if v.abs() < 100.0 {
        return format!("{v:.1}");
    }
    let n = v.round() as i64;
    let s = n.abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_thousands() {
        assert_eq!(group(1234567.0), "1,234,567");
        assert_eq!(group(999.4), "999");
        assert_eq!(group(12.34), "12.3");
    }

    #[test]
    fn verdict_needs_both_value_and_ratio() {
        assert!(Figure::rate_vs("1", "x", 6000.0, 10000.0, "/s", 5000.0, 0.5).met);
        assert!(!Figure::rate_vs("1", "x", 4000.0, 5000.0, "/s", 5000.0, 0.5).met);
        assert!(!Figure::rate_vs("1", "x", 6000.0, 20000.0, "/s", 5000.0, 0.5).met);
        assert!(!Figure::rate_vs("2", "x", 1.0, 0.0, "/s", 0.0, 0.8).met);
    }
}
