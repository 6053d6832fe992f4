"""The parts of the synthetic report generator (:mod:`gis_service.synthetic.generator`)."""
