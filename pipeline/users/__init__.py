"""Users of the shared service: their records and API tokens (`records`, `tokens`), who may see and
change an owned record (`ownership`), and per-user fair-use limits (`fair_use`). Pure: the HTTP API
and the command line in agents/ do the I/O."""
