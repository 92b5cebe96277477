//! Finding the e-mail column and the well-known columns in a report's header row.
//!
//! Header texts are compared "normalised": lowercase, with spaces, `-`, `_` and `.` removed,
//! so `E-Mail-Adresse`, `e-mail adresse` and `EMAIL_ADRESSE` are the same column. A name
//! configured in the mailing's `[columns]` table is looked up the same way and must exist;
//! without one, the usual headers listed in [`DEFAULTS`] are tried in order.
use crate::error::ReportError;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Column-name overrides (a mailing's `[columns]` table). `None` = use the usual headers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnNames {
    /// The e-mail column.
    pub email: Option<String>,
    /// The customer id (one customer has several contacts).
    pub customer_id: Option<String>,
    /// The customer (company) name.
    pub customer_name: Option<String>,
    /// The contact id.
    pub contact_id: Option<String>,
    /// The customer-level mailing block flag.
    pub customer_block: Option<String>,
    /// The contact-level mailing block flag.
    pub contact_block: Option<String>,
}

/// Indexes of the well-known columns in a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct WellKnown {
    /// The e-mail column (required).
    pub email: usize,
    /// Customer id.
    pub customer_id: Option<usize>,
    /// Customer name.
    pub customer_name: Option<usize>,
    /// Contact id.
    pub contact_id: Option<usize>,
    /// Customer mailing block.
    pub customer_block: Option<usize>,
    /// Contact mailing block.
    pub contact_block: Option<usize>,
}

/// The usual header texts of each well-known column, already normalised, in order of
/// preference.
pub const DEFAULTS: &[(&str, &[&str])] = &[
    (
        "email",
        &["email", "emailadresse", "emailaddress", "mail", "emailadr"],
    ),
    (
        "customer_id",
        &[
            "customerid",
            "kundennummer",
            "kundennr",
            "kundenid",
            "accountid",
            "firmenid",
            "firmennummer",
        ],
    ),
    (
        "customer_name",
        &[
            "customername",
            "kundenname",
            "firmenname",
            "firma",
            "company",
            "accountname",
            "kunde",
        ],
    ),
    (
        "contact_id",
        &[
            "contactid",
            "kontaktid",
            "kontaktnummer",
            "kontaktnr",
            "ansprechpartnerid",
            "personid",
        ],
    ),
    (
        "customer_block",
        &[
            "customerblock",
            "kundensperre",
            "mailingsperrekunde",
            "kundemailingsperre",
            "werbesperrekunde",
        ],
    ),
    (
        "contact_block",
        &[
            "contactblock",
            "kontaktsperre",
            "mailingsperrekontakt",
            "kontaktmailingsperre",
            "mailingsperre",
            "werbesperre",
        ],
    ),
];

/// Normalises a header text for comparison.
pub fn normalise(name: &str) -> String {
    name.chars()
        .filter(|c| !(c.is_whitespace() || matches!(c, '-' | '_' | '.')))
        .flat_map(char::to_lowercase)
        .collect()
}

/// True for the block-flag values `1 true yes ja x j y` (case-insensitive, trimmed).
pub fn is_truthy(value: &str) -> bool {
    let v = value.trim();
    ["1", "true", "yes", "ja", "x", "j", "y"]
        .iter()
        .any(|t| v.eq_ignore_ascii_case(t))
}

impl WellKnown {
    /// Finds the columns in `headers`. Errors when there is no e-mail column or when a
    /// configured name is missing.
    pub fn find(
        path: &Path,
        headers: &[String],
        names: &ColumnNames,
    ) -> Result<WellKnown, ReportError> {
        let normalised: Vec<String> = headers.iter().map(|h| normalise(h)).collect();
        let lookup = |role: &'static str,
                      configured: &Option<String>|
         -> Result<Option<usize>, ReportError> {
            if let Some(name) = configured {
                let want = normalise(name);
                return match normalised.iter().position(|h| *h == want) {
                    Some(i) => Ok(Some(i)),
                    None if role == "email" => Err(ReportError::NoEmailColumn {
                        path: path.to_path_buf(),
                        configured: Some(name.clone()),
                        found: headers.to_vec(),
                    }),
                    None => Err(ReportError::MissingColumn {
                        path: path.to_path_buf(),
                        role,
                        name: name.clone(),
                        found: headers.to_vec(),
                    }),
                };
            }
            let usual = DEFAULTS
                .iter()
                .find(|(r, _)| *r == role)
                .map(|(_, n)| *n)
                .unwrap_or_default();
            Ok(usual
                .iter()
                .find_map(|u| normalised.iter().position(|h| h == u)))
        };
        let email = lookup("email", &names.email)?.ok_or_else(|| ReportError::NoEmailColumn {
            path: path.to_path_buf(),
            configured: None,
            found: headers.to_vec(),
        })?;
        Ok(WellKnown {
            email,
            customer_id: lookup("customer_id", &names.customer_id)?,
            customer_name: lookup("customer_name", &names.customer_name)?,
            contact_id: lookup("contact_id", &names.contact_id)?,
            customer_block: lookup("customer_block", &names.customer_block)?,
            contact_block: lookup("contact_block", &names.contact_block)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn usual_email_headers_any_case_and_spacing() {
        for name in [
            "email",
            "E-Mail",
            "E-Mail-Adresse",
            "Email Address",
            " EMAIL ",
            "e-mail adresse",
        ] {
            let w = WellKnown::find(
                Path::new("r.csv"),
                &h(&["Name", name]),
                &ColumnNames::default(),
            )
            .unwrap();
            assert_eq!(w.email, 1, "{name}");
        }
    }

    #[test]
    fn missing_email_column_lists_columns_found() {
        let e = WellKnown::find(
            Path::new("r.csv"),
            &h(&["Name", "Telefon"]),
            &ColumnNames::default(),
        )
        .unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("no e-mail column"), "{msg}");
        assert!(msg.contains("\"Name\", \"Telefon\""), "{msg}");
    }

    #[test]
    fn configured_names_win_and_must_exist() {
        let names = ColumnNames {
            email: Some("Mail privat".into()),
            customer_id: Some("KdNr".into()),
            ..Default::default()
        };
        let w = WellKnown::find(
            Path::new("r.csv"),
            &h(&["E-Mail", "mail_privat", "kdnr"]),
            &names,
        )
        .unwrap();
        assert_eq!((w.email, w.customer_id), (1, Some(2)));

        let names = ColumnNames {
            contact_block: Some("Sperre".into()),
            ..Default::default()
        };
        let e = WellKnown::find(Path::new("r.csv"), &h(&["E-Mail"]), &names).unwrap_err();
        assert!(
            e.to_string()
                .contains("\"Sperre\" (configured for contact_block) not found"),
            "{e}"
        );

        let names = ColumnNames {
            email: Some("Mail2".into()),
            ..Default::default()
        };
        let e = WellKnown::find(Path::new("r.csv"), &h(&["E-Mail"]), &names).unwrap_err();
        assert!(e.to_string().contains("looked for \"Mail2\""), "{e}");
    }

    #[test]
    fn german_well_known_columns() {
        let w = WellKnown::find(
            Path::new("r.csv"),
            &h(&[
                "Kundennummer",
                "Firmenname",
                "Kontakt-ID",
                "Kundensperre",
                "Kontaktsperre",
                "E-Mail",
            ]),
            &ColumnNames::default(),
        )
        .unwrap();
        assert_eq!(
            w,
            WellKnown {
                email: 5,
                customer_id: Some(0),
                customer_name: Some(1),
                contact_id: Some(2),
                customer_block: Some(3),
                contact_block: Some(4),
            }
        );
    }

    #[test]
    fn truthy_values() {
        for v in ["1", "true", "YES", "Ja", "x", "X", "j", "y", " ja "] {
            assert!(is_truthy(v), "{v}");
        }
        for v in ["", "0", "nein", "no", "false", "-", "n"] {
            assert!(!is_truthy(v), "{v}");
        }
    }
}
