from django.db import models
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    WEB = "web", _("Web portal")
    APP = "app", _("Mobile app")
    PHONE = "phone", _("Phone")
    WECHAT = "wechat", _("WeChat")
    PARTNER = "partner", _("Partner")
    API = "api", _("API")


class LossType(models.TextChoices):
    COLLISION = "collision", _("Collision")
    THEFT = "theft", _("Theft")
    GLASS = "glass", _("Glass breakage")
    NATURAL_DISASTER = "natural_disaster", _("Flood, storm or other natural disaster")
    FIRE = "fire", _("Fire")
    THIRD_PARTY = "third_party", _("Third-party liability")
    HOSPITALIZATION = "hospitalization", _("Hospitalisation")
    OUTPATIENT = "outpatient", _("Outpatient treatment")
    CRITICAL_ILLNESS = "critical_illness", _("Critical illness")
    DEATH = "death", _("Death")
    DISABILITY = "disability", _("Disability")
    ACCIDENTAL_INJURY = "accidental_injury", _("Accidental injury")
    WATER_DAMAGE = "water_damage", _("Water damage")
    BURGLARY = "burglary", _("Burglary")
    TRIP_DELAY = "trip_delay", _("Trip delay or cancellation")
    BAGGAGE = "baggage", _("Baggage loss")
    MEDICAL_ABROAD = "medical_abroad", _("Medical treatment abroad")


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


class Complexity(models.TextChoices):
    SIMPLE = "simple", _("Simple (fast track)")
    STANDARD = "standard", _("Standard")
    COMPLEX = "complex", _("Complex")


class DocumentType(models.TextChoices):
    ID_CARD = "id_card", _("Identity card")
    CLAIM_FORM = "claim_form", _("Claim form")
    MEDICAL_RECORD = "medical_record", _("Medical record")
    INVOICE = "invoice", _("Invoice or receipt")
    DISCHARGE_SUMMARY = "discharge_summary", _("Discharge summary")
    POLICE_REPORT = "police_report", _("Police or accident report")
    DRIVING_LICENSE = "driving_license", _("Driving licence")
    VEHICLE_LICENSE = "vehicle_license", _("Vehicle licence")
    DAMAGE_PHOTO = "damage_photo", _("Damage photo")
    REPAIR_ESTIMATE = "repair_estimate", _("Repair estimate")
    BANK_CARD = "bank_card", _("Bank card")
    DEATH_CERTIFICATE = "death_certificate", _("Death certificate")
    TRAVEL_PROOF = "travel_proof", _("Travel proof")
    OTHER = "other", _("Other")


class DecisionOutcome(models.TextChoices):
    APPROVE = "approve", _("Approved")
    PARTIAL = "partial", _("Partially approved")
    DENY = "deny", _("Denied")


class ReasonCode(models.TextChoices):
    """Coded reasons for partial approval and denial. Late reporting alone is never a denial reason
    (Insurance Law art. 21), so there is deliberately no code for it."""

    NOT_COVERED = "not_covered", _("Loss not covered by the policy")
    OUTSIDE_PERIOD = "outside_period", _("Incident outside the policy period")
    EXCLUSION = "exclusion", _("Excluded cause under the policy terms")
    WAITING_PERIOD = "waiting_period", _("Incident within the waiting period")
    POLICY_NOT_IN_FORCE = "policy_not_in_force", _("Policy not in force")
    MISREPRESENTATION = "misrepresentation", _("Material misrepresentation")
    NO_INSURABLE_LOSS = "no_insurable_loss", _("No insured loss established")
    DUPLICATE = "duplicate", _("Duplicate claim")
    BELOW_DEDUCTIBLE = "below_deductible", _("Loss below the deductible")
    DEDUCTIBLE_APPLIED = "deductible_applied", _("Deductible applied")
    LIMIT_REACHED = "limit_reached", _("Coverage limit reached")
    NON_COVERED_ITEMS = "non_covered_items", _("Some items not covered")
    DEPRECIATION = "depreciation", _("Depreciation applied")
    CO_PAYMENT = "co_payment", _("Co-payment share")
    OTHER = "other", _("Other reason (see text)")


class DocumentsJustification(models.TextChoices):
    """Insurance Law art. 22 allows one consolidated request; a second needs one of these."""

    NEW_FACTS = "new_facts", _("New facts emerged after the first request")
    SUBMITTED_ILLEGIBLE = "submitted_illegible", _("A submitted document is illegible or invalid")
    THIRD_PARTY = "third_party", _("A third party's document became necessary")


class PaymentStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    PAID = "paid", _("Paid")
    FAILED = "failed", _("Failed")
