"""What makes a public link safe for strangers: who a visitor is (identity), the WebRTC
and HTTP guards, per-visitor limits and storage quota, which models a visitor may use, and the
launch flags that set them."""
