// Placeholder: replaced by the histogram implementation.
