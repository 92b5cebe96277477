//! Benchmarks of Mailing Manager (skeleton — being written).
