//! Examples and the demo of courier.
