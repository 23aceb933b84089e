//! Exercises of chapter ch02_channels (being written).
