//! Sandbox behaviour over real HTTP.
