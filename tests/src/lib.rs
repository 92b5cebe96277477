//! Real-Postfix test harness (skeleton — being written).
