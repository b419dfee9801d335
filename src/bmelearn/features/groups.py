"""Named feature groups, with the compositions of the literature (and of LibEMG).

HTD: Hudgins et al., IEEE TBME 1993. TSTD: Khushaba et al., temporal-spatial descriptors.
DFTR: He et al. 2015. ITD: Phinyomark et al. 2014 (invariant time domain). HJORTH: Hjorth 1970.
LS4, LS9: Phinyomark et al., Sensors 2018 (feature sets for large EMG data). TDPSD: Al-Timemy
et al. 2016. TDAR: Hargrove et al. 2007 (time domain + AR). COMB: Phinyomark et al. 2013.
MSWT: Khushaba et al., multiscale wavelet transform. IMU and QUAT are bmelearn's sets for
accelerometer/gyroscope and orientation-quaternion channels.
"""

from bmelearn.features.registry import register_group

register_group("HTD", ("MAV", "ZC", "SSC", "WL"))
register_group("TSTD", ("MAVFD", "DASDV", "WAMP", "ZC", "MFL", "SAMPEN", "M0", "M2", "M4", "SPARSI", "IRF", "WLF"))
register_group("DFTR", ("DFTR",))
register_group("ITD", ("ISD", "COR", "MDIFF", "MLK"))
register_group("HJORTH", ("ACT", "MOB", "COMP"))
register_group("LS4", ("LS", "MFL", "MSR", "WAMP"))
register_group("LS9", ("LS", "MFL", "MSR", "WAMP", "ZC", "RMS", "IAV", "DASDV", "VAR"))
register_group("TDPSD", ("M0", "M2", "M4", "SPARSI", "IRF", "WLF"))
register_group("TDAR", ("MAV", "ZC", "SSC", "WL", "AR"))
register_group("COMB", ("WL", "SSC", "LD", "AR9"))
register_group("MSWT", ("WENG", "WV", "WWL", "WENT"))
register_group("IMU", ("MEAN", "STD", "MIN", "MAX", "RANGE", "ENERGY", "JERK", "DOMFREQ", "SPECENT", "AXCORR"))
register_group("QUAT", ("QEULER", "QROT", "QSPEED"))
