// Placeholder: replaced by the policy module.
