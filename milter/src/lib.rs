//! (skeleton — being written)
