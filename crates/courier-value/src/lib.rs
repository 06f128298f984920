//! Dynamic values of .ipc types: encode, decode, parse and print messages known only at run time.
