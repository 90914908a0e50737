{#-
    The golden record: one row per person of person_identifiers, attributes chosen from the
    person's sources by these survivorship rules.

    - Name, birth date, gender, loyalty card, preferences: the person's most recently
      updated CRM record (ties: the higher CRM id).
    - Email: the CRM's (the most recently updated CRM record that has one), else the email
      of the person's most recent online order before the as-of date.
    - Phone: the most recently updated CRM record that has one.
    - Address (city and country together, never mixed from two records): the most recently
      updated CRM record that has a city or a country.
    - first_seen_at / last_seen_at: over all the person's identifiers.
    - Consent per purpose (var `consent_purposes`): the person's latest consent change for
      that purpose recorded before the as-of date (through their CRM ids or emails); granted
      means true; no record means false. On a tie a withdrawal wins.
    - Erasure: a person with any erasure request (whatever its date: a backfill must never
      bring erased data back) has is_erased true, every personal attribute null and every
      consent false.
-#}
{%- set purposes = var('consent_purposes') -%}
with

identifiers as (

    select * from {{ ref('person_identifiers') }}

),

crm_customers as (

    select * from {{ ref('stg_crm__customers') }}

),

shop_orders as (

    select * from {{ ref('stg_shop__orders') }}

),

erasure_requests as (

    select * from {{ ref('stg_consent__erasure_requests') }}

),

people as (

    select
        person_id,
        min(first_seen_at) as first_seen_at,
        max(last_seen_at) as last_seen_at,
        cast(count(*) as bigint) as identifiers,
        cast(sum(case when identifier_type = 'crm_id' then 1 else 0 end) as bigint) as crm_ids,
        cast(sum(case when identifier_type = 'email' then 1 else 0 end) as bigint) as emails,
        cast(sum(case when identifier_type = 'anonymous_id' then 1 else 0 end) as bigint)
            as devices
    from identifiers
    group by person_id

),

crm_people as (

    select
        identifier_value as customer_id,
        person_id
    from identifiers
    where identifier_type = 'crm_id'

),

email_people as (

    select
        identifier_value as email,
        person_id
    from identifiers
    where identifier_type = 'email'

),

crm_records as (

    select
        crm_people.person_id,
        crm_customers.*,
        row_number() over (
            partition by crm_people.person_id
            order by crm_customers.updated_at desc nulls last, crm_customers.customer_id desc
        ) as record_rank,
        row_number() over (
            partition by crm_people.person_id
            order by
                case when crm_customers.email is null then 1 else 0 end,
                crm_customers.updated_at desc nulls last,
                crm_customers.customer_id desc
        ) as email_rank,
        row_number() over (
            partition by crm_people.person_id
            order by
                case when crm_customers.phone is null then 1 else 0 end,
                crm_customers.updated_at desc nulls last,
                crm_customers.customer_id desc
        ) as phone_rank,
        row_number() over (
            partition by crm_people.person_id
            order by
                case
                    when crm_customers.city is null and crm_customers.country_code is null
                        then 1
                    else 0
                end,
                crm_customers.updated_at desc nulls last,
                crm_customers.customer_id desc
        ) as address_rank
    from crm_customers
    inner join crm_people
        on crm_customers.customer_id = crm_people.customer_id

),

crm_summary as (

    select
        person_id,
        min(signup_date) as signup_date,
        max(case when record_rank = 1 then customer_id end) as customer_id,
        max(case when record_rank = 1 then first_name end) as first_name,
        max(case when record_rank = 1 then last_name end) as last_name,
        max(case when record_rank = 1 then birth_date end) as birth_date,
        max(case when record_rank = 1 then gender end) as gender,
        max(case when record_rank = 1 then loyalty_id end) as loyalty_id,
        max(case when record_rank = 1 then preferred_channel end) as preferred_channel,
        max(case when record_rank = 1 then interests end) as interests,
        max(case when record_rank = 1 then updated_at end) as crm_updated_at,
        max(case when email_rank = 1 then email end) as crm_email,
        max(case when phone_rank = 1 then phone end) as phone,
        max(case when address_rank = 1 then city end) as city,
        max(case when address_rank = 1 then country_code end) as country_code
    from crm_records
    group by person_id

),

order_emails as (

    select
        coalesce(crm_people.person_id, email_people.person_id) as person_id,
        shop_orders.email,
        row_number() over (
            partition by coalesce(crm_people.person_id, email_people.person_id)
            order by shop_orders.ordered_at desc, shop_orders.order_id desc
        ) as email_rank
    from shop_orders
    left join crm_people
        on shop_orders.customer_id = crm_people.customer_id
    left join email_people
        on shop_orders.email = email_people.email
    where
        shop_orders.email is not null
        and shop_orders.ordered_at < {{ as_of_timestamp() }}

),

latest_order_emails as (

    select
        person_id,
        email
    from order_emails
    where email_rank = 1 and person_id is not null

),

current_consents as (

    {{ current_consents(as_of_timestamp()) }}

),

erasures as (

    select
        coalesce(crm_people.person_id, email_people.person_id) as person_id,
        min(erasure_requests.requested_at) as erasure_requested_at
    from erasure_requests
    left join crm_people
        on erasure_requests.customer_id = crm_people.customer_id
    left join email_people
        on erasure_requests.email = email_people.email
    group by coalesce(crm_people.person_id, email_people.person_id)

),

joined as (

    select
        people.person_id,
        erasures.person_id is not null as is_erased,
        erasures.erasure_requested_at,
        crm_summary.customer_id,
        crm_summary.first_name,
        crm_summary.last_name,
        coalesce(crm_summary.crm_email, latest_order_emails.email) as email,
        case
            when crm_summary.crm_email is not null then 'crm'
            when latest_order_emails.email is not null then 'order'
        end as email_source,
        crm_summary.phone,
        crm_summary.birth_date,
        crm_summary.gender,
        crm_summary.city,
        crm_summary.country_code,
        crm_summary.loyalty_id,
        crm_summary.preferred_channel,
        crm_summary.interests,
        crm_summary.signup_date,
        crm_summary.crm_updated_at,
        people.first_seen_at,
        people.last_seen_at,
        people.identifiers,
        people.crm_ids,
        people.emails,
        people.devices,
        {%- for purpose in purposes %}
        coalesce(current_consents.has_{{ purpose }}_consent, false)
            as has_{{ purpose }}_consent,
        current_consents.{{ purpose }}_consent_changed_at,
        {%- endfor %}
        crm_summary.person_id is not null as is_crm_customer
    from people
    left join crm_summary
        on people.person_id = crm_summary.person_id
    left join latest_order_emails
        on people.person_id = latest_order_emails.person_id
    left join current_consents
        on people.person_id = current_consents.person_id
    left join erasures
        on people.person_id = erasures.person_id

),

final as (

    select
        person_id,
        {%- for column in [
            'customer_id', 'first_name', 'last_name', 'email', 'email_source', 'phone',
            'birth_date', 'gender', 'city', 'country_code', 'loyalty_id', 'preferred_channel',
            'interests'
        ] %}
        case when not is_erased then {{ column }} end as {{ column }},
        {%- endfor %}
        signup_date,
        first_seen_at,
        last_seen_at,
        identifiers,
        crm_ids,
        emails,
        devices,
        is_crm_customer,
        {%- for purpose in purposes %}
        has_{{ purpose }}_consent and not is_erased as has_{{ purpose }}_consent,
        {{ purpose }}_consent_changed_at,
        {%- endfor %}
        is_erased,
        erasure_requested_at,
        crm_updated_at
    from joined

)

select * from final
