//! The recipient list: every rule of SPEC §5 on a real report file.
use mm_mailing::{ColumnNames, RecipientList, SkipReason};

const REPORT: &str = "\
Kundennummer;Firmenname;Kontakt-ID;Nachname;E-Mail;Kundensperre;Kontaktsperre
100;Alpha AG;1;Albers;albers@alpha.test;;
100;Alpha AG;2;Arndt;arndt@alpha.test;ja;
200;Beta KG;3;Bauer;bauer@beta.test;;x
200;Beta KG;4;Brandt;brandt@beta.test;;
300;Gamma;5;Gerber;keine Angabe;;
300;Gamma;6;Groß; BAUER@beta.test ;;
300;Gamma;7;Gans;gans@gamma.test;;
300;Gamma;8;Gans2;gans@gamma.test;;
400;Delta;9;Dorn;dorn@delta.test;;
400;Delta;10;Dietz;dietz@delta.test;;
";

#[test]
fn every_rule_applies() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("kunden.csv");
    std::fs::write(&p, REPORT).unwrap();
    let list = RecipientList::open(&p, &ColumnNames::default(), &[" Dorn@Delta.test".into()])
        .unwrap()
        .with_suppression(|a| a == "dietz@delta.test");
    let mut list = list;
    let rows: Vec<_> = (&mut list).collect::<Result<_, _>>().unwrap();
    let skip: Vec<Option<SkipReason>> = rows.iter().map(|r| r.skip).collect();
    use SkipReason::*;
    assert_eq!(
        skip,
        [
            Some(CustomerBlock), // row before the blocked one, same customer
            Some(CustomerBlock),
            Some(ContactBlock),
            None,
            Some(InvalidAddress),
            Some(Duplicate), // bauer@beta.test seen (blocked) before: trimmed, any case
            None,
            Some(Duplicate),
            Some(Unticked),
            Some(Suppressed),
        ]
    );
    assert!(rows.iter().all(|r| r.send == r.skip.is_none()));
    assert_eq!(rows[0].customer_id, "100");
    assert_eq!(rows[0].customer_name, "Alpha AG");
    assert_eq!(rows[0].contact_id, "1");
    assert_eq!(rows[5].email, "BAUER@beta.test");
    assert_eq!(rows[9].index, 9);
    assert_eq!(rows[9].line, 11);
    let c = list.counts();
    assert_eq!(
        (
            c.total,
            c.to_send,
            c.blocked(),
            c.invalid_address,
            c.duplicate,
            c.unticked,
            c.suppressed
        ),
        (10, 2, 3, 1, 2, 1, 1)
    );
    assert_eq!(
        c.to_string(),
        "total 10, to send 2, blocked 3 (customer 2, contact 1), unticked 1, invalid 1, duplicate 2, suppressed 1"
    );
}

#[test]
fn report_without_customer_columns_still_works() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("r.csv");
    std::fs::write(&p, "Email Address,Name\na@b.de,A\na@b.de,B\n").unwrap();
    let list = RecipientList::open(&p, &ColumnNames::default(), &[]).unwrap();
    assert_eq!(list.well_known().customer_id, None);
    let c = list.count_all().unwrap();
    assert_eq!((c.total, c.to_send, c.duplicate), (2, 1, 1));
}
