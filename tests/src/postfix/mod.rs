//! Private Postfix instances on loopback: [`PostfixBuilder`] writes an instance's
//! configuration, [`Postfix`] is the running instance (stopped with `postfix -c DIR stop` on
//! drop), [`LogDelivery`] is one delivery attempt read back from its `maillog_file`.

mod builder;
mod config;
mod instance;
mod maillog;

pub use builder::PostfixBuilder;
pub use instance::Postfix;
pub use maillog::LogDelivery;
