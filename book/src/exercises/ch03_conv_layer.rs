//! Exercises of chapter ch03_conv_layer (being written).
