//! Exercises of chapter ch04_fc_layer (being written).
