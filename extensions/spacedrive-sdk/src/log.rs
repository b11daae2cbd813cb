//! Logging to the host, which tags lines with the extension's id.

#[doc(hidden)]
pub fn write(level: u32, text: &str) {
    crate::ffi::log(level, text);
}

/// Logs at debug level: `debug!("x = {}", x)`.
#[macro_export]
macro_rules! debug {
    ($($t:tt)*) => { $crate::__log(1, &format!($($t)*)) };
}

/// Logs at info level.
#[macro_export]
macro_rules! info {
    ($($t:tt)*) => { $crate::__log(2, &format!($($t)*)) };
}

/// Logs at warn level.
#[macro_export]
macro_rules! warn {
    ($($t:tt)*) => { $crate::__log(3, &format!($($t)*)) };
}

/// Logs at error level.
#[macro_export]
macro_rules! error {
    ($($t:tt)*) => { $crate::__log(4, &format!($($t)*)) };
}
