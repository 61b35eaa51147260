"""The privacy engine: data-subject requests, crypto-shredding, erasure, receipts, verification."""
