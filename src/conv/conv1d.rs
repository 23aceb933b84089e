//! Convolution of a 1-D signal, by hand (chapter "Convolution": conv layers serve signals and speech too).
