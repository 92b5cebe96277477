//! Any bytes as a report: opening and draining must end in rows or an error, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mm_report::{ColumnNames, Report};
use std::io::Cursor;

fuzz_target!(|data: &[u8]| {
    let names = ColumnNames::default();
    if let Ok(mut report) =
        Report::from_reader("fuzz.csv".as_ref(), Cursor::new(data.to_vec()), &names)
    {
        let width = report.columns().len();
        let email = report.well_known().email;
        assert!(email < width);
        for row in &mut report {
            match row {
                Ok(row) => assert_eq!(row.values.len(), width),
                Err(_) => break,
            }
        }
    }
});
