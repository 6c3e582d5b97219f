// Placeholder: replaced by the sysinfo implementation.
