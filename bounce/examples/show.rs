//! Prints the classification of each file given on the command line (debugging aid; the
//! user-facing tool is `mailing-manager dsn parse`).
fn main() {
    for path in std::env::args().skip(1) {
        match std::fs::read(&path) {
            Ok(raw) => {
                let rep = mm_bounce::classify(&raw);
                println!("{path}: {rep:#?}");
            }
            Err(e) => eprintln!("{path}: {e}"),
        }
    }
}
