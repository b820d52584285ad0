"""Settlement: fund a task with a gold commitment, settle epochs on chain, claim, audit.

* :mod:`~datafair.services.settlement.gold`: the commitment to a task's gold answers (a Merkle
  root over one salted leaf per gold item) and their reveal item by item;
* :mod:`~datafair.services.settlement.funding`: fund (and refund) a task on the escrow,
  recording the gold secret before any transaction is sent;
* :mod:`~datafair.services.settlement.bundle`: the pure computation of one epoch (inference,
  rewards, fee, Merkle tree) and its canonical, content-addressed bundle;
* :mod:`~datafair.services.settlement.settle`: the persisted, resumable state machine that posts
  one root per epoch;
* :mod:`~datafair.services.settlement.claims`: claim every leaf an account can claim;
* :mod:`~datafair.services.settlement.audit`: recompute an epoch from its bundle alone and
  compare it with the chain.

The rules and the bundle format are described in ``docs/settlement.md``.
"""
