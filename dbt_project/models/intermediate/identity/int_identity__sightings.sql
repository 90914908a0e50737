{#-
    Every identifier seen in every source, alone or together with a second identifier from the
    same record: one row per source and (pair of) normalised identifiers, with when it was first
    and last seen and how often. The one read of each staging model for identity resolution.

    Records and what they name:
    - CRM customer: its CRM id with its email, phone and loyalty card (one row each);
    - shop order: the account's CRM id with the checkout email (guest orders: the email alone);
    - web event: the device's anonymous id with the user id once logged in (bots kept, flagged);
    - web checkout: the anonymous id of a device that completed an order with that order's
      email and CRM id (a guest checkout is how a device that never logs in is found);
    - email event: the recipient's email; store sale: the loyalty card shown;
    - consent change and erasure request: the CRM id with the email, whichever are named.
-#}

with

crm_customers as (

    select * from {{ ref('stg_crm__customers') }}

),

shop_orders as (

    select * from {{ ref('stg_shop__orders') }}

),

store_transactions as (

    select * from {{ ref('stg_store__transactions') }}

),

web_events as (

    select * from {{ ref('stg_web__events') }}

),

email_events as (

    select * from {{ ref('stg_email__events') }}

),

consents as (

    select * from {{ ref('stg_consent__consents') }}

),

erasure_requests as (

    select * from {{ ref('stg_consent__erasure_requests') }}

),

crm_records as (

    -- A CRM record is seen from the customer's sign-up: the record's identifiers all date
    -- from then, whenever the record was last updated.
    select
        {{ identity_clean('crm_id', 'customer_id') }} as crm_id,
        {{ identity_clean('email', 'email') }} as email,
        {{ identity_clean('phone', 'phone') }} as phone,
        {{ identity_clean('loyalty_id', 'loyalty_id') }} as loyalty_id,
        coalesce(cast(signup_date as timestamp), updated_at) as seen_from,
        coalesce(updated_at, cast(signup_date as timestamp)) as seen_to
    from crm_customers

),

crm_sightings as (

    -- One row per record and partner kind (a cross join, so the staging view is read once);
    -- a record without a partner of that kind still shows its CRM id.
    select
        'crm__customers' as record_source,
        'crm_id' as left_type,
        crm_records.crm_id as left_value,
        case
            when crm_kinds.partner_type = 'email' then crm_records.email
            when crm_kinds.partner_type = 'phone' then crm_records.phone
            when crm_kinds.partner_type = 'loyalty_id' then crm_records.loyalty_id
        end as right_value,
        crm_kinds.partner_type,
        false as is_bot,
        crm_records.seen_from,
        crm_records.seen_to,
        1 as times_seen
    from crm_records
    cross join (values ('email'), ('phone'), ('loyalty_id')) as crm_kinds (partner_type)
    where crm_records.crm_id is not null

),

shop_records as (

    select
        order_id,
        {{ identity_clean('crm_id', 'customer_id') }} as crm_id,
        {{ identity_clean('email', 'email') }} as email,
        ordered_at
    from shop_orders

),

web_records as (

    -- One pass over the clickstream: a row per device, login and completed order.
    select
        {{ identity_clean('anonymous_id', 'anonymous_id') }} as anonymous_id,
        {{ identity_clean('user_id', 'user_id') }} as user_id,
        coalesce(is_bot, false) as is_bot,
        case when event_name = 'Order Completed' then order_id end as order_id,
        min(occurred_at) as seen_from,
        max(occurred_at) as seen_to,
        count(*) as events
    from web_events
    group by
        {{ identity_clean('anonymous_id', 'anonymous_id') }},
        {{ identity_clean('user_id', 'user_id') }},
        coalesce(is_bot, false),
        case when event_name = 'Order Completed' then order_id end

),

checkout_records as (

    -- The order a device completed names the buyer: its email and, unless a guest, CRM id.
    select
        web_records.anonymous_id,
        shop_records.crm_id,
        shop_records.email,
        web_records.seen_from,
        web_records.seen_to,
        web_records.events
    from web_records
    inner join shop_records
        on web_records.order_id = shop_records.order_id
    where
        web_records.anonymous_id is not null
        and not web_records.is_bot

),

checkout_partners as (

    select
        checkout_records.anonymous_id,
        checkout_kinds.partner_type,
        case
            when checkout_kinds.partner_type = 'crm_id' then checkout_records.crm_id
            when checkout_kinds.partner_type = 'email' then checkout_records.email
        end as partner_value,
        checkout_records.seen_from,
        checkout_records.seen_to,
        checkout_records.events
    from checkout_records
    cross join (values ('crm_id'), ('email')) as checkout_kinds (partner_type)

),

email_records as (

    -- Aggregated before the union: millions of email events name far fewer addresses.
    select
        {{ identity_clean('email', 'email') }} as email,
        min(occurred_at) as seen_from,
        max(occurred_at) as seen_to,
        count(*) as events
    from email_events
    where {{ identity_clean('email', 'email') }} is not null
    group by {{ identity_clean('email', 'email') }}

),

store_records as (

    -- Likewise: one row per loyalty card shown at the tills.
    select
        {{ identity_clean('loyalty_id', 'loyalty_id') }} as loyalty_id,
        min(transacted_at) as seen_from,
        max(transacted_at) as seen_to,
        count(*) as sales
    from store_transactions
    where {{ identity_clean('loyalty_id', 'loyalty_id') }} is not null
    group by {{ identity_clean('loyalty_id', 'loyalty_id') }}

),

consent_records as (

    select
        'consent__consents' as record_source,
        {{ identity_clean('crm_id', 'customer_id') }} as crm_id,
        {{ identity_clean('email', 'email') }} as email,
        recorded_at as seen_at
    from consents
    union all
    select
        'consent__erasure_requests' as record_source,
        {{ identity_clean('crm_id', 'customer_id') }} as crm_id,
        {{ identity_clean('email', 'email') }} as email,
        requested_at as seen_at
    from erasure_requests

),

sightings as (

    select
        record_source,
        left_type,
        left_value,
        case when right_value is not null then partner_type end as right_type,
        right_value,
        is_bot,
        seen_from,
        seen_to,
        times_seen
    from crm_sightings
    union all
    select
        'shop__orders' as record_source,
        {{ identity_pair('crm_id', 'crm_id', 'email', 'email') }},
        false as is_bot,
        ordered_at as seen_from,
        ordered_at as seen_to,
        1 as times_seen
    from shop_records
    where crm_id is not null or email is not null
    union all
    select
        'web__events' as record_source,
        {{ identity_pair('anonymous_id', 'anonymous_id', 'user_id', 'user_id') }},
        is_bot,
        seen_from,
        seen_to,
        events as times_seen
    from web_records
    where anonymous_id is not null or user_id is not null
    union all
    select
        'web__checkouts' as record_source,
        'anonymous_id' as left_type,
        anonymous_id as left_value,
        partner_type as right_type,
        partner_value as right_value,
        false as is_bot,
        seen_from,
        seen_to,
        events as times_seen
    from checkout_partners
    where partner_value is not null
    union all
    select
        'email__events' as record_source,
        'email' as left_type,
        email as left_value,
        null as right_type,
        null as right_value,
        false as is_bot,
        seen_from,
        seen_to,
        events as times_seen
    from email_records
    union all
    select
        'store__transactions' as record_source,
        'loyalty_id' as left_type,
        loyalty_id as left_value,
        null as right_type,
        null as right_value,
        false as is_bot,
        seen_from,
        seen_to,
        sales as times_seen
    from store_records
    union all
    select
        record_source,
        {{ identity_pair('crm_id', 'crm_id', 'email', 'email') }},
        false as is_bot,
        seen_at as seen_from,
        seen_at as seen_to,
        1 as times_seen
    from consent_records
    where crm_id is not null or email is not null

),

final as (

    select
        record_source,
        left_type,
        left_value,
        right_type,
        right_value,
        is_bot,
        min(seen_from) as first_seen_at,
        max(seen_to) as last_seen_at,
        sum(times_seen) as times_seen
    from sightings
    group by
        record_source,
        left_type,
        left_value,
        right_type,
        right_value,
        is_bot

)

select * from final
