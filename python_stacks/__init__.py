"""The CDKTF stacks of the trading platform: settings -> stacks -> constructs and HCL modules -> outputs."""
