"""The shipped templates, one per event and language, used while no edited row exists.

Plain text (SMS, WeChat and push carry the body; email the subject and the body), Django template
syntax over the fixed context of `notifications.rendering.CONTEXT_HELP`. The context holds nothing
that may not be sent (no ID number, bank accounts masked), so an edited template cannot leak either."""

from __future__ import annotations

from claimwise.notifications.choices import Event

ZH = "zh-hans"
EN = "en"

DEFAULTS: dict[str, dict[str, tuple[str, str]]] = {
    Event.CLAIM_RECEIVED: {
        ZH: (
            "理赔报案已收到：{{ claim_number }}",
            "{{ name }}您好，我们已收到您的理赔报案（案件号 {{ claim_number }}），将尽快处理。",
        ),
        EN: (
            "We have received your claim {{ claim_number }}",
            "Dear {{ name }}, we have received your claim {{ claim_number }} and will handle it promptly.",
        ),
    },
    Event.REGISTERED: {
        ZH: (
            "理赔已立案：{{ claim_number }}",
            "{{ name }}您好，您的理赔（案件号 {{ claim_number }}）已立案，当前状态：{{ status }}。",
        ),
        EN: (
            "Your claim {{ claim_number }} is registered",
            "Dear {{ name }}, your claim {{ claim_number }} is registered. Status: {{ status }}.",
        ),
    },
    Event.DOCUMENTS_NEEDED: {
        ZH: (
            "理赔需补充材料：{{ claim_number }}",
            "{{ name }}您好，您的理赔（案件号 {{ claim_number }}）还需要以下材料："
            "{% for item in items %}{{ forloop.counter }}. {{ item }}{% if not forloop.last %}；{% endif %}{% endfor %}。"
            "请尽快提交。",
        ),
        EN: (
            "Documents needed for your claim {{ claim_number }}",
            "Dear {{ name }}, to go on with your claim {{ claim_number }} we need: "
            "{% for item in items %}{{ forloop.counter }}. {{ item }}{% if not forloop.last %}; {% endif %}{% endfor %}. "
            "Please send them as soon as you can.",
        ),
    },
    Event.DECISION: {
        ZH: (
            "理赔结论：{{ claim_number }}",
            "{{ name }}您好，您的理赔（案件号 {{ claim_number }}）结论：{{ outcome }}"
            "{% if denied %}。拒赔理由：{{ reasons }}{% if notice %}（{{ notice }}）{% endif %}。"
            "如有异议，可申请复核或投诉。{% else %}，核定金额 {{ amount }} {{ currency }}。{% endif %}",
        ),
        EN: (
            "Decision on your claim {{ claim_number }}",
            "Dear {{ name }}, the decision on your claim {{ claim_number }}: {{ outcome }}"
            "{% if denied %}. Reasons: {{ reasons }}{% if notice %} ({{ notice }}){% endif %}. "
            "You may ask for a review or complain.{% else %}, amount {{ amount }} {{ currency }}.{% endif %}",
        ),
    },
    Event.PAYMENT_MADE: {
        ZH: (
            "理赔款已支付：{{ claim_number }}",
            "{{ name }}您好，理赔款 {{ amount }} {{ currency }} 已支付至尾号 {{ account }} 的账户"
            "（案件号 {{ claim_number }}，支付流水 {{ reference }}）。",
        ),
        EN: (
            "Payment made on your claim {{ claim_number }}",
            "Dear {{ name }}, {{ amount }} {{ currency }} was paid to the account ending {{ account }} "
            "(claim {{ claim_number }}, reference {{ reference }}).",
        ),
    },
    Event.NEW_MESSAGE: {
        ZH: (
            "理赔案件有新消息：{{ claim_number }}",
            "{{ name }}您好，理赔员就您的理赔（案件号 {{ claim_number }}）给您发了新消息，请登录查看。",
        ),
        EN: (
            "New message about your claim {{ claim_number }}",
            "Dear {{ name }}, your claim handler sent you a message about claim {{ claim_number }}. "
            "Please sign in to read it.",
        ),
    },
    Event.DEADLINE_AT_RISK: {
        ZH: (
            "理赔时限提醒：{{ claim_number }}",
            "{{ name }}您好，您的理赔（案件号 {{ claim_number }}）的法定时限“{{ deadline }}”将于 {{ due }} 到期，"
            "我们正在加紧处理。",
        ),
        EN: (
            "Deadline reminder for your claim {{ claim_number }}",
            "Dear {{ name }}, the statutory deadline “{{ deadline }}” on your claim {{ claim_number }} "
            "falls due {{ due }}. We are giving it priority.",
        ),
    },
    Event.DEADLINE_BREACHED: {
        ZH: (
            "理赔时限已逾期：{{ claim_number }}",
            "{{ name }}您好，很抱歉，您的理赔（案件号 {{ claim_number }}）的法定时限“{{ deadline }}”已于 {{ due }} 到期，"
            "案件已上报主管优先处理。",
        ),
        EN: (
            "We missed a deadline on your claim {{ claim_number }}",
            "Dear {{ name }}, we are sorry: the statutory deadline “{{ deadline }}” on your claim "
            "{{ claim_number }} passed on {{ due }}. A supervisor is now handling it with priority.",
        ),
    },
    Event.STAFF_WARNING: {
        ZH: ("【时限预警】{{ claim_number }}", "{{ alert }}"),
        EN: ("[Deadline at risk] {{ claim_number }}", "{{ alert }}"),
    },
    Event.STAFF_BREACH: {
        ZH: ("【时限逾期】{{ claim_number }}", "{{ alert }}"),
        EN: ("[Deadline breached] {{ claim_number }}", "{{ alert }}"),
    },
    Event.STAFF_ESCALATION: {
        ZH: ("【升级处理】{{ claim_number }}", "{{ alert }}"),
        EN: ("[Escalated to you] {{ claim_number }}", "{{ alert }}"),
    },
    Event.STAFF_ASSIGNMENT: {
        ZH: ("【新分配案件】{{ claim_number }}", "案件 {{ claim_number }} 已分配给您。{{ note }}"),
        EN: ("[New assignment] {{ claim_number }}", "Claim {{ claim_number }} is assigned to you. {{ note }}"),
    },
    Event.STAFF_CUSTOMER_MESSAGE: {
        ZH: ("【客户留言】{{ claim_number }}", "{{ alert }}"),
        EN: ("[Customer message] {{ claim_number }}", "{{ alert }}"),
    },
    Event.ONE_TIME_CODE: {
        ZH: (
            "验证码 {{ code }}",
            "您的验证码是 {{ code }}，{{ minutes }} 分钟内有效。请勿告诉任何人，我们的员工不会向您索要验证码。",
        ),
        EN: (
            "Your code {{ code }}",
            "Your code is {{ code }}, valid for {{ minutes }} minutes. Never share it: our staff will never ask for it.",
        ),
    },
    Event.CONTACT_CHANGED: {
        ZH: (
            "您的联系方式已更改",
            "{{ name }}您好，您在我们这里登记的{{ what }}已改为 {{ new }}。如非您本人操作，请立即致电我们。",
        ),
        EN: (
            "Your contact details were changed",
            "Hello {{ name }}, the {{ what }} we have for you is now {{ new }}. If you did not make this change, "
            "call us at once.",
        ),
    },
}
